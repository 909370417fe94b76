"""The dbt warehouse as Dagster assets, with row counts and column schemas on each model."""

from collections.abc import Iterator
from contextlib import nullcontext

import dagster as dg
import duckdb
from dagster_dbt import DbtCliResource, DbtProjectComponent

from factory_assets.metadata import table_metadata


class WarehouseDbtComponent(DbtProjectComponent):
    """DbtProjectComponent for a dbt-duckdb warehouse.

    dagster-dbt's own row-count fetch queries the database while dbt still runs, which a DuckDB
    file (one process at a time) refuses. Here dbt runs to its end first; then the step opens
    the file once and adds ``dagster/row_count`` and ``dagster/column_schema`` to every model it
    built. dbt test results stream unchanged as asset checks.
    """

    def execute(self, context: dg.AssetExecutionContext, dbt: DbtCliResource) -> Iterator:
        """Run dbt, then enrich each materialization with the table's metadata."""
        invocation = dbt.cli(self.get_cli_args(context), context=context, raise_on_error=False)
        events = list(invocation.stream())
        credentials = getattr(getattr(invocation.adapter, "config", None), "credentials", None)
        path = getattr(credentials, "path", None)
        with duckdb.connect(path) if path else nullcontext() as conn:
            for event in events:
                yield _with_table_metadata(context, conn, event)
        if not invocation.is_successful():
            raise invocation.get_error() or dg.Failure("dbt failed; see the step log")


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
