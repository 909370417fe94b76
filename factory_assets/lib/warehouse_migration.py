"""``factory migrate-warehouse``: copy an old DuckDB-file warehouse into the lake.

Every table of every schema is copied, in one transaction (the lake has all of them or none),
then counted again from a new connection, table by table. Views are not copied: they are dbt's
staging models, and the next ``dbt build`` (any line run) makes them again in the lake. A lake
table that already has rows is never overwritten unless asked (``replace``).

The source is a DuckDB file, or the folder ``EXPORT DATABASE`` wrote (Parquet or CSV). A file
written by DuckDB 2.x has a storage format DuckDB 1.5 (the version DuckLake's packages pin)
cannot read: the error says how to export it with the DuckDB that wrote it.

DuckLake has no ENUM and no fixed-size ARRAY: such columns arrive as VARCHAR and as lists.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb

from factory_assets.lib.lake import ALIAS, Lake, open_lake

SOURCE = "old"  # the old warehouse's name while attached beside the lake
_ARRAY = re.compile(r"^(.*)\[\d+\]$")


class MigrationError(RuntimeError):
    """The old warehouse cannot be read, or the lake already holds its tables."""


@dataclass(frozen=True)
class TableCount:
    """One copied table: its rows in the old warehouse and in the lake after the commit."""

    schema: str
    table: str
    source_rows: int
    lake_rows: int

    @property
    def name(self) -> str:
        """``schema.table``."""
        return f"{self.schema}.{self.table}"


def newer_format(path: Path, error: duckdb.Error) -> MigrationError:
    """The error for a file whose storage format this DuckDB cannot read, with the way out."""
    export = path.with_name(f"{path.stem}_export")
    reason = str(error).splitlines()[0]
    return MigrationError(
        f"{path} was written by a newer DuckDB than {duckdb.__version__} (the version DuckLake's "
        f"extension packages pin), which cannot read its storage format:\n  {reason}\n"
        "Export it with the DuckDB that wrote it (the 2.x CLI or Python package), e.g.\n"
        f"  duckdb {path} -c \"EXPORT DATABASE '{export}' (FORMAT parquet)\"\n"
        f"then migrate the folder: factory migrate-warehouse {export}"
    )


@contextmanager
def _source_file(source: Path) -> Iterator[Path]:
    """The DuckDB file to read: ``source``, or an ``EXPORT DATABASE`` folder imported."""
    if not source.is_dir():
        yield source
        return
    if not (source / "schema.sql").exists():
        raise MigrationError(f"{source} is a folder without schema.sql: not an EXPORT DATABASE")
    with tempfile.TemporaryDirectory(prefix="migrate-") as tmp:
        imported = Path(tmp) / "imported.duckdb"
        with duckdb.connect(str(imported)) as conn:
            conn.execute(f"IMPORT DATABASE {_literal(str(source))}")
        yield imported


def _attach(conn: duckdb.DuckDBPyConnection, path: Path, shown: Path) -> None:
    if not path.exists():
        raise MigrationError(f"{shown}: no such file or folder")
    try:
        conn.execute(f"ATTACH {_literal(str(path))} AS {SOURCE} (READ_ONLY)")
    except duckdb.Error as err:
        if "version number" in str(err) or "newer version" in str(err):
            raise newer_format(shown, err) from err
        raise MigrationError(f"{shown} cannot be opened as a DuckDB warehouse: {err}") from err


def _tables(conn: duckdb.DuckDBPyConnection, database: str) -> list[tuple[str, str]]:
    return conn.execute(
        "select schema_name, table_name from duckdb_tables() "
        "where database_name = $db and not internal order by all",
        {"db": database},
    ).fetchall()


def _views(conn: duckdb.DuckDBPyConnection) -> int:
    (count,) = conn.execute(
        "select count(*) from duckdb_views() where database_name = $db and not internal",
        {"db": SOURCE},
    ).fetchone()
    return int(count)


def _columns(conn: duckdb.DuckDBPyConnection, schema: str, table: str) -> str:
    """The select list of a table, ENUMs as VARCHAR and fixed-size ARRAYs as lists."""
    rows = conn.execute(
        "select column_name, data_type from duckdb_columns() where database_name = $db "
        "and schema_name = $schema and table_name = $table order by column_index",
        {"db": SOURCE, "schema": schema, "table": table},
    ).fetchall()
    parts = []
    for name, kind in rows:
        column = _ident(name)
        if kind.startswith("ENUM("):
            column = f"cast({column} as varchar) as {column}"
        elif match := _ARRAY.match(kind):
            column = f"cast({column} as {match.group(1)}[]) as {column}"
        parts.append(column)
    return ", ".join(parts)


def _count(conn: duckdb.DuckDBPyConnection, database: str, schema: str, table: str) -> int:
    sql = f"select count(*) from {_ident(database)}.{_ident(schema)}.{_ident(table)}"  # noqa: S608
    return int(conn.execute(sql).fetchone()[0])


def _occupied(conn: duckdb.DuckDBPyConnection, tables: list[tuple[str, str]]) -> list[str]:
    """The lake tables among ``tables`` that already have rows."""
    present = set(_tables(conn, ALIAS))
    return [f"{s}.{t}" for s, t in tables if (s, t) in present and _count(conn, ALIAS, s, t)]


def migrate(source: str | Path, lake: Lake, replace: bool = False) -> tuple[list[TableCount], int]:
    """Copy every table of the warehouse ``source`` into ``lake``, in one transaction.

    Returns:
        (one count per table, checked after the commit; the views left for dbt).

    Raises:
        MigrationError: ``source`` cannot be read, or (without ``replace``) a lake table it
            would overwrite has rows; nothing is copied then.
    """
    source = Path(source).expanduser().absolute()
    # a DuckDB of its own, not the process's shared one: the old file is attached beside the lake
    with _source_file(source) as path, closing(open_lake(lake)) as conn:
        _attach(conn, path, source)
        tables, views = _tables(conn, SOURCE), _views(conn)
        occupied = [] if replace else _occupied(conn, tables)
        if occupied:
            raise MigrationError(
                f"the lake ({lake.label()}) already has rows in {', '.join(occupied)}: "
                "nothing copied. Run again with --replace to overwrite them."
            )
        counts = {(s, t): _count(conn, SOURCE, s, t) for s, t in tables}
        conn.execute("begin")
        for schema in sorted({s for s, _ in tables}):
            conn.execute(f"create schema if not exists {ALIAS}.{_ident(schema)}")
        for schema, table in tables:
            target = f"{ALIAS}.{_ident(schema)}.{_ident(table)}"
            conn.execute(
                f"create or replace table {target} as select {_columns(conn, schema, table)} "  # noqa: S608
                f"from {SOURCE}.{_ident(schema)}.{_ident(table)}"
            )
        conn.execute("commit")
    with lake.connect(read_only=True) as conn:  # what a new reader of the lake sees
        checked = [TableCount(s, t, counts[s, t], _count(conn, ALIAS, s, t)) for s, t in tables]
    return checked, views


def migrate_command(source: str | Path, lake: Lake, replace: bool = False) -> int:
    """``factory migrate-warehouse``: migrate, print the counts; 0 when every count matches."""
    try:
        checked, views = migrate(source, lake, replace)
    except MigrationError as err:
        print(f"migrate-warehouse: {err}")
        return 2
    width = max([len(c.name) for c in checked] + [5])
    print(f"{len(checked)} tables from {source} into {lake.label()}:")
    print(f"  {'table':<{width}}  {'old rows':>12}  {'lake rows':>12}")
    for count in checked:
        verdict = "ok" if count.source_rows == count.lake_rows else "MISMATCH"
        print(f"  {count.name:<{width}}  {count.source_rows:>12}  {count.lake_rows:>12}  {verdict}")
    print(f"{views} views not copied: the next dbt build (any line run) makes them again.")
    return 0 if all(c.source_rows == c.lake_rows for c in checked) else 1


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
