"""Writes to the warehouse (a DuckLake, ``lib/lake.py``) that appear whole or not at all.

Every write is one transaction: a reader (or a crash) sees the table before or after it, never
half of it. Table names come from code, never from data; values are bound as parameters.
Questions about tables ask the database in use (the lake), not the in-memory one beside it.
"""

from collections.abc import Iterable, Iterator
from contextlib import contextmanager

import duckdb
import polars as pl


@contextmanager
def transaction(conn: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """Commit on success, roll back on any error."""
    conn.execute("begin transaction")
    try:
        yield conn
    except BaseException:
        conn.execute("rollback")
        raise
    conn.execute("commit")


def _insert(conn: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame) -> None:
    conn.register("__incoming", frame.to_arrow())
    try:
        conn.execute(f"create table if not exists {table} as select * from __incoming limit 0")
        # a new column (a newer version of the writer) is added; older rows read it as null
        have = {r[0] for r in conn.execute(f"describe {table}").fetchall()}
        for name, kind, *_ in conn.execute("describe select * from __incoming").fetchall():
            if name not in have:
                conn.execute(f'alter table {table} add column "{name}" {kind}')
        conn.execute(f"insert into {table} by name select * from __incoming")
    finally:
        conn.unregister("__incoming")


def replace_partitions(
    conn: duckdb.DuckDBPyConnection,
    writes: Iterable[tuple[str, pl.DataFrame]],
    column: str,
    values: list,
) -> None:
    """Replace exactly the rows whose ``column`` is in ``values``, in several tables at once.

    Args:
        conn: an open warehouse connection.
        writes: (table, rows) pairs; each table's rows for ``values`` become ``rows``.
        column: the partition column, e.g. ``_partition_date``.
        values: the partitions being replaced; rows of other partitions are untouched.

    """
    with transaction(conn):
        for table, frame in writes:
            _insert(conn, table, frame.head(0))
            conn.execute(f"delete from {table} where {column} in (select unnest(?))", [values])
            _insert(conn, table, frame)


def replace_tables(
    conn: duckdb.DuckDBPyConnection, writes: Iterable[tuple[str, pl.DataFrame]]
) -> None:
    """Swap each table for its frame, all in one transaction."""
    with transaction(conn):
        for table, frame in writes:
            swap_table(conn, table, frame)


def swap_table(conn: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame) -> None:
    """Replace ``table`` by ``frame`` inside the caller's transaction.

    A table built from other tables is read and swapped in one transaction: two runs that
    rebuild it at once then conflict on the commit (DuckLake: both replaced the table), and
    the step that lost retries on the newest rows, so an older build never lands over a newer.
    """
    conn.register("__incoming", frame.to_arrow())
    try:
        conn.execute(f"create or replace table {table} as select * from __incoming")
    finally:
        conn.unregister("__incoming")


def _here(conn: duckdb.DuckDBPyConnection, table: str) -> str:
    """``table`` qualified with the database and schema in use (the lake's, not the in-memory)."""
    database, schema = conn.execute("select current_database(), current_schema()").fetchone()
    return f'"{database}"."{schema}"."{table}"'


def table_exists(conn: duckdb.DuckDBPyConnection, table: str) -> bool:
    """Whether ``table`` (a table or view of the current schema) exists yet.

    Asked by binding a query of no rows, not by listing the catalog: ``information_schema`` and
    ``duckdb_tables()`` list every attached database, the lake's SQLite metadata among them
    (~70 ms a question on a lake being written, ~5 ms this way). A view whose tables are gone
    counts as missing. A failed bind does not abort the caller's transaction.
    """
    try:
        conn.execute(f"select 1 from {_here(conn, table)} limit 0")
    except duckdb.CatalogException:
        return False
    return True


def describe_table(conn: duckdb.DuckDBPyConnection, table: str) -> tuple[int, list[tuple]]:
    """Row count and (column, type) pairs of a table or view, as DuckDB reports them."""
    name = _here(conn, table)
    rows = conn.execute(f"select count(*) from {name}").fetchall()[0][0]
    columns = [(r[0], r[1]) for r in conn.execute(f"describe {name}").fetchall()]
    return rows, columns
