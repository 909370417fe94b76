"""The dbt warehouse as Dagster assets, with row counts and column schemas on each model."""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import duckdb
from dagster_dbt import DbtCliResource, DbtProjectComponent

from factory_assets.components import dbt_in_process
from factory_assets.execution import WAREHOUSE_RETRY, k8s_op_tags, yield_cpu
from factory_assets.lib.lake import contended
from factory_assets.metadata import table_metadata
from factory_assets.settings import lake_variables, settings


class WarehouseDbtComponent(DbtProjectComponent):
    """DbtProjectComponent for the dbt-duckdb warehouse, a DuckLake (``lib/lake.py``).

    dbt runs to its end first; then the step opens the lake once and adds ``dagster/row_count``
    and ``dagster/column_schema`` to every model it built (one connection, not one per model as
    dagster-dbt's own fetch). dbt test results stream unchanged as asset checks.

    dbt runs in the step's process (``dbt_in_process``: no interpreter start, no re-parse), or
    as dagster-dbt's subprocess with ``FACTORY_DBT_SUBPROCESS=1``; both yield the same events.

    The component's YAML has no retry policy, so a dbt build whose commit lost a race on the
    lake's catalog asks for a retry itself, with the delays of the shared ``WAREHOUSE_RETRY``;
    other failures (a failing dbt test) are not retried.
    """

    @staticmethod
    @dg.template_var
    def warehouse_pod() -> dict:
        """``{{ warehouse_pod }}`` in defs.yaml: the op tags sizing the dbt step's pod."""
        return k8s_op_tags("small")

    def execute(self, context: dg.AssetExecutionContext, dbt: DbtCliResource) -> Iterator:
        """Run dbt, then enrich each materialization with the table's metadata."""
        args = self.get_cli_args(context)
        yield_cpu(settings().step_nice)  # no Warehouse resource here to do it (execution.py)
        lake = settings().lake()
        with lake.connect():  # the lake exists (a first build makes it) and its extensions load
            pass
        with _profile_warehouse():
            invocation = dbt_in_process.run(context, dbt, args) or dbt.cli(
                args, context=context, raise_on_error=False
            )
            events = list(invocation.stream())
        # its own build folder is the newest; older ones go beyond FACTORY_DBT_KEEP_TARGETS
        dbt_in_process.prune_targets(Path(invocation.target_path).parent)
        with lake.connect() as conn:  # the database opened above: no second attach
            for event in events:
                yield _with_table_metadata(context, conn, event)
        if not invocation.is_successful():
            error = invocation.get_error() or dg.Failure("dbt failed; see the step log")
            _retry_on_contention(context.retry_number + 1, error)
            raise error


@contextmanager
def _profile_warehouse() -> Iterator[None]:
    """FACTORY_WAREHOUSE and FACTORY_WAREHOUSE_DATA, as the lake's, while dbt runs.

    dbt reads the variables of its profile from the process environment only (in process, and
    in dagster-dbt's subprocess, which copies it), and must build in the lake the resources
    open: the settings' (a path there reads as a SQLite catalog; the profile's ``ducklake:``
    string needs it spelled ``sqlite:<path>``). The variables are put back after.
    """
    current = settings()
    with lake_variables(current.warehouse, current.lake().data_path):
        yield


def _retry_on_contention(attempt: int, error: Exception) -> None:
    """Ask for retry ``attempt``, with exponential backoff, if dbt lost a race on the catalog."""
    if attempt <= WAREHOUSE_RETRY.max_retries and contended(error):
        raise dg.RetryRequested(
            max_retries=WAREHOUSE_RETRY.max_retries,
            seconds_to_wait=WAREHOUSE_RETRY.calculate_delay(attempt),
        ) from error


def _with_table_metadata(context: dg.AssetExecutionContext, conn, event):  # noqa: ANN001
    if conn is None or not isinstance(event, dg.Output):
        return event
    table = context.asset_key_for_output(event.output_name).path[-1]
    try:
        extra = table_metadata(conn, table)
    except duckdb.Error as err:  # a model dbt skipped after an upstream failure has no table
        context.log.warning(f"no table metadata for {table}: {err}")
        return event
    return event.with_metadata({**event.metadata, **extra})
