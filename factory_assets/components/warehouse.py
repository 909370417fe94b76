"""The dbt warehouse as Dagster assets, with row counts and column schemas on each model."""

import os
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path

import dagster as dg
import duckdb
from dagster_dbt import DbtCliResource, DbtProjectComponent

from factory_assets.components import dbt_in_process
from factory_assets.execution import WAREHOUSE_RETRY, k8s_op_tags
from factory_assets.metadata import table_metadata
from factory_assets.settings import env_name, exported, settings

LOCK_MARKERS = ("could not set lock", "conflicting lock")


class WarehouseDbtComponent(DbtProjectComponent):
    """DbtProjectComponent for a dbt-duckdb warehouse.

    dagster-dbt's own row-count fetch queries the database while dbt still runs, which a DuckDB
    file (one process at a time) refuses. Here dbt runs to its end first; then the step opens
    the file once and adds ``dagster/row_count`` and ``dagster/column_schema`` to every model it
    built. dbt test results stream unchanged as asset checks.

    dbt runs in the step's process (``dbt_in_process``: no interpreter start, no re-parse), or
    as dagster-dbt's subprocess with ``FACTORY_DBT_SUBPROCESS=1``; both yield the same events.

    The component's YAML has no retry policy, so a dbt build that fails on the warehouse's file
    lock asks for a retry itself, with the delays of the shared ``WAREHOUSE_RETRY``; other
    failures (a failing dbt test) are not retried.
    """

    @staticmethod
    @dg.template_var
    def warehouse_pod() -> dict:
        """``{{ warehouse_pod }}`` in defs.yaml: the op tags sizing the dbt step's pod."""
        return k8s_op_tags("small")

    def execute(self, context: dg.AssetExecutionContext, dbt: DbtCliResource) -> Iterator:
        """Run dbt, then enrich each materialization with the table's metadata."""
        args = self.get_cli_args(context)
        with _profile_warehouse():
            invocation = dbt_in_process.run(context, dbt, args) or dbt.cli(
                args, context=context, raise_on_error=False
            )
        events = list(invocation.stream())
        # its own build folder is the newest; older ones go beyond FACTORY_DBT_KEEP_TARGETS
        dbt_in_process.prune_targets(Path(invocation.target_path).parent)
        path = _warehouse_path(invocation)
        try:
            opened = duckdb.connect(path) if path else nullcontext()
        except duckdb.IOException as err:  # the lock dbt met, most likely: still held
            _retry_on_lock(context.retry_number + 1, err)
            raise
        with opened as conn:
            for event in events:
                yield _with_table_metadata(context, conn, event)
        if not invocation.is_successful():
            error = invocation.get_error() or dg.Failure("dbt failed; see the step log")
            _retry_on_lock(context.retry_number + 1, error)
            raise error


@contextmanager
def _profile_warehouse() -> Iterator[None]:
    """FACTORY_WAREHOUSE set, for dbt's profile, while dbt starts (unless it is set already).

    dbt reads the variables of its profile from the process environment only (in process, and
    in dagster-dbt's subprocess, which copies it), and must build in the file the resources
    open: the settings' default. The profile's own fallback cannot be that file: dbt runs on
    the dbt component's copy of the project (under ``.local_defs_state``), from another folder.
    """
    if exported("warehouse"):
        yield
        return
    name = env_name("warehouse")
    os.environ[name] = str(settings().warehouse)
    try:
        yield
    finally:
        os.environ.pop(name, None)


def _warehouse_path(invocation) -> str | None:  # noqa: ANN001
    """The DuckDB file dbt built in (in process), or its adapter's (dagster-dbt's subprocess)."""
    if isinstance(invocation, dbt_in_process.InProcessInvocation):
        return invocation.warehouse_path
    credentials = getattr(getattr(invocation.adapter, "config", None), "credentials", None)
    return getattr(credentials, "path", None)


def _retry_on_lock(attempt: int, error: Exception) -> None:
    """Ask for retry ``attempt``, with exponential backoff, if dbt lost on the file lock."""
    if attempt <= WAREHOUSE_RETRY.max_retries and any(
        marker in str(error).lower() for marker in LOCK_MARKERS
    ):
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
