"""Dagster metadata shared by the assets: row count and column schema, as the UI shows them."""

import dagster as dg
import duckdb

from factory_assets.lib.warehouse import describe_table


def table_metadata(conn: duckdb.DuckDBPyConnection, table: str) -> dict:
    """``dagster/row_count``, ``dagster/column_schema`` and ``dagster/table_name`` of a table."""
    rows, columns = describe_table(conn, table)
    schema = dg.TableSchema(columns=[dg.TableColumn(name, kind) for name, kind in columns])
    return {
        "dagster/row_count": rows,
        "dagster/column_schema": schema,
        "dagster/table_name": f"warehouse.main.{table}",
    }
