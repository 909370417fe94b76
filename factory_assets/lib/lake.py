"""The warehouse is a DuckLake: a SQL catalog (a SQLite file, or Postgres) plus Parquet files.

Every process opens its own in-memory DuckDB, attaches the lake as ``warehouse`` and uses it, so
table names read as before (``warehouse.main.fct_flights``) and any number of processes read and
write at once: a reader sees the newest committed snapshot, never half of a write; writers of
different partitions commit side by side, and a commit that loses a race on the catalog fails
whole, for the step's ``RetryPolicy`` to run again.

The catalog, from ``FACTORY_WAREHOUSE``:
- a path (or ``sqlite:<path>``): a SQLite catalog file, the embedded default; nothing to start.
  It is put in WAL mode when created, so readers never wait for a writer.
- ``postgres:<libpq conninfo>`` (``postgres:dbname=lake host=127.0.0.1 user=factory``): the
  production catalog; the password comes from libpq's own ``PGPASSWORD``, never the string.

The data path, from ``FACTORY_WAREHOUSE_DATA``: a folder, or object storage (``s3://bucket/lake/``
with DuckDB's ``httpfs`` and an S3 secret from ``AWS_*`` variables, see deploy/README.md).
Unset, a SQLite catalog keeps its files beside it in ``<catalog>.files/``.

Extensions load from the pinned ``duckdb-extension-*`` packages (no network); where they are not
installed, DuckDB's ``INSTALL`` fetches them from its own repository.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import duckdb

ALIAS = "warehouse"  # the attached lake's name: tables read as warehouse.main.<table>
# DuckLake retries a commit that raced another (when they do not conflict): patient enough for
# four writers on two cores; a real conflict or a busy SQLite catalog fails the step instead,
# and the step's RetryPolicy runs it again
RETRY_SETTINGS = {"ducklake_max_retry_count": 50, "ducklake_retry_wait_ms": 50,
                  "ducklake_retry_backoff": 1.5}  # fmt: skip
# messages of a commit that lost a race on the catalog: a retry of the whole step succeeds
CONTENTION_MARKERS = ("database is locked", "conflict", "could not set lock")
_PACKAGED = {"sqlite": "sqlite_scanner", "postgres": "postgres_scanner"}
_ATTACHED: dict[tuple, duckdb.DuckDBPyConnection] = {}  # (lake, read_only) -> its database
_GUARD = threading.Lock()


class LakeError(ValueError):
    """A warehouse setting that names no usable lake."""


@dataclass(frozen=True)
class Lake:
    """Where the lake's catalog and data live.

    Attributes:
        kind: ``sqlite`` or ``postgres``, the catalog's database.
        catalog: the SQLite file's absolute path, or the Postgres conninfo.
        data_path: the folder or URL of the Parquet files (ends with ``/``).
        beside: whether the data path is the default one beside a SQLite catalog; the pair then
            moves and copies as one (the catalog's recorded path is overridden on attach).

    """

    kind: str
    catalog: str
    data_path: str
    beside: bool = False

    @classmethod
    def parse(cls, value: str | Path, data_path: str | Path | None = None) -> Lake:
        """The lake a ``FACTORY_WAREHOUSE`` value names (see the module's docstring)."""
        text = str(value).strip()
        if text.startswith("ducklake:"):
            text = text.removeprefix("ducklake:")
        if text.startswith(("postgres:", "postgresql:")):
            conninfo = text.partition(":")[2]
            if not data_path:
                raise LakeError(
                    "a Postgres catalog needs FACTORY_WAREHOUSE_DATA: the folder or s3:// URL "
                    "the lake's Parquet files go to"
                )
            return cls("postgres", conninfo, _folder(str(data_path)))
        path = Path(text.removeprefix("sqlite:")).expanduser().absolute()
        if path.suffix == ".duckdb":
            raise LakeError(
                f"{path} names a DuckDB file: the warehouse is a DuckLake now. Set "
                "FACTORY_WAREHOUSE to a catalog (a .sqlite path, or postgres:…) and copy the "
                f"old file into it with `factory migrate-warehouse {path}`"
            )
        if data_path:
            return cls("sqlite", str(path), _folder(str(data_path)))
        return cls("sqlite", str(path), _folder(f"{path}.files"), beside=True)

    @property
    def url(self) -> str:
        """The ``ATTACH`` string, ``ducklake:sqlite:<file>`` or ``ducklake:postgres:<conninfo>``."""
        return f"ducklake:{self.kind}:{self.catalog}"

    def attach_sql(
        self, read_only: bool = False, alias: str = ALIAS, snapshot: int | None = None
    ) -> str:
        """``ATTACH`` of this lake as ``alias`` (string literals quoted for SQL).

        ``snapshot``: the lake as it was at that snapshot id (time travel; read only).
        """
        options = [f"DATA_PATH {_quote(self.data_path)}"]
        if self.beside:
            options.append("OVERRIDE_DATA_PATH TRUE")
        if read_only or snapshot is not None:
            options.append("READ_ONLY")
        if snapshot is not None:
            options.append(f"SNAPSHOT_VERSION {int(snapshot)}")
        return f"ATTACH {_quote(self.url)} AS {alias} ({', '.join(options)})"

    def exists(self) -> bool:
        """Whether the catalog is there to open (a Postgres catalog: always assumed)."""
        return self.kind != "sqlite" or Path(self.catalog).exists()

    def label(self) -> str:
        """How logs and metadata name the lake (no password: libpq reads it from the env)."""
        return self.url if self.kind == "sqlite" else f"ducklake:postgres ({self.data_path})"

    @contextmanager
    def connect(
        self, read_only: bool = False, snapshot: int | None = None
    ) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection with the lake attached as ``warehouse`` and in use; closed after.

        It is a cursor of this process's one in-memory DuckDB for the lake (``attached``):
        loading the extensions and attaching cost ~0.2 s, a cursor ~5 ms. Each transaction
        still reads the newest snapshot any process committed. ``snapshot``: the lake as it
        was at that snapshot id, read only (lib/lake_snapshots.py).
        """
        cursor = attached(self, read_only, snapshot).cursor()
        try:
            cursor.execute(f"USE {ALIAS}")
            yield cursor
        finally:
            cursor.close()


def attached(
    lake: Lake, read_only: bool = False, snapshot: int | None = None
) -> duckdb.DuckDBPyConnection:
    """This process's in-memory DuckDB with ``lake`` attached (opened on first use)."""
    key = (lake, read_only or snapshot is not None, snapshot)
    with _GUARD:
        base = _ATTACHED.get(key)
        if base is not None and lake.exists():
            return base
        if base is not None:  # its catalog file was removed: a new lake may take its place
            base.close()
        _ATTACHED[key] = base = open_lake(lake, read_only, snapshot)
        return base


def open_lake(
    lake: Lake, read_only: bool = False, snapshot: int | None = None
) -> duckdb.DuckDBPyConnection:
    """A new in-memory DuckDB with ``lake`` attached as ``warehouse`` and in use.

    ``snapshot``: attached read only as it was at that snapshot id.
    """
    conn = duckdb.connect()
    try:
        load_extensions(conn, lake.kind)
        if lake.data_path.startswith("s3://"):
            object_storage(conn)
        for name, value in RETRY_SETTINGS.items():
            conn.execute(f"SET GLOBAL {name} = {value}")
        if lake.kind == "sqlite" and not Path(lake.catalog).exists():
            create_sqlite_catalog(lake)
            if "://" not in lake.data_path:
                Path(lake.data_path).mkdir(parents=True, exist_ok=True)
        conn.execute(lake.attach_sql(read_only=read_only, snapshot=snapshot))
        conn.execute(f"USE {ALIAS}")
    except BaseException:
        conn.close()
        raise
    return conn


def connect(value: str | Path, read_only: bool = False):  # noqa: ANN201 (a context manager)
    """A connection to the lake ``value`` names (a ``FACTORY_WAREHOUSE`` value), closed after."""
    return Lake.parse(value).connect(read_only=read_only)


def copy_lake(source: str | Path, target: str | Path) -> Lake:
    """Copy a SQLite-catalogued lake whose files lie beside it: one snapshot, catalog and files.

    The catalog is copied with SQLite's backup (a consistent copy while others write), then the
    data folder (a file a later commit wrote comes along too, and is never read).
    """
    old, new = Lake.parse(source), Lake.parse(target)
    if old.kind != "sqlite" or not old.beside or not new.beside:
        raise LakeError("copy_lake copies a SQLite catalog with its files beside it")
    Path(new.catalog).parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(old.catalog) as src, sqlite3.connect(new.catalog) as dst:
        src.backup(dst)
    shutil.copytree(old.data_path, new.data_path, dirs_exist_ok=True)
    return new


def create_sqlite_catalog(lake: Lake) -> None:
    """Make a new lake's SQLite catalog whole, or keep the one another process made first.

    The lake's tables are created in a draft file of this thread (in WAL mode), which is then
    linked into place: no process ever opens a catalog file that holds no lake yet (a reader
    would fail on it: "Existing DuckLake ... does not exist"), and of two processes creating the
    same lake, the first link wins and the other's draft is dropped.
    """
    final = Path(lake.catalog)
    final.parent.mkdir(parents=True, exist_ok=True)
    draft = final.with_name(f"{final.name}.creating-{os.getpid()}-{threading.get_ident()}")
    try:
        wal(str(draft))
        conn = duckdb.connect()
        try:
            load_extensions(conn, "sqlite")
            conn.execute(replace(lake, catalog=str(draft)).attach_sql())
        finally:
            conn.close()  # the last connection: the WAL goes into the file
        try:
            os.link(draft, final)
        except FileExistsError:
            pass  # another process made it first: that one is the lake
    finally:
        for leftover in (draft, Path(f"{draft}-wal"), Path(f"{draft}-shm")):
            leftover.unlink(missing_ok=True)


def wal(catalog: str) -> None:
    """Put a SQLite catalog in WAL mode (persistent): readers then never wait for a writer."""
    with sqlite3.connect(catalog) as db:
        db.execute("pragma journal_mode=wal")


def load_extensions(conn: duckdb.DuckDBPyConnection, kind: str) -> None:
    """Load ducklake and the catalog's scanner: from the pinned packages, else DuckDB's repo."""
    for name in ("ducklake", _PACKAGED[kind]):
        load_extension(conn, name)


def load_extension(conn: duckdb.DuckDBPyConnection, name: str) -> None:
    """Load one extension: loaded already, from its ``duckdb-extension-*`` package, or INSTALL."""
    try:
        conn.execute(f"LOAD {name}")
        return
    except duckdb.Error:
        pass
    try:
        from duckdb_extensions import import_extension

        import_extension(name, con=conn)  # copies the packaged binary where LOAD looks
    except ModuleNotFoundError:
        conn.execute(f"INSTALL {name}")  # no package: DuckDB's own repository
    conn.execute(f"LOAD {name}")


def object_storage(conn: duckdb.DuckDBPyConnection) -> None:
    """An ``s3://`` data path: httpfs, and an S3 secret from AWS's credential chain.

    The chain reads ``AWS_ACCESS_KEY_ID`` / ``AWS_SECRET_ACCESS_KEY`` / ``AWS_SESSION_TOKEN`` /
    ``AWS_REGION``, else a profile in ``~/.aws``, else the pod's or instance's role; nothing is
    kept in the settings. Needs the ``httpfs`` and ``aws`` extensions (their packages, or INSTALL).
    """
    for name in ("httpfs", "aws"):
        load_extension(conn, name)
    conn.execute("CREATE OR REPLACE SECRET lake_s3 (TYPE s3, PROVIDER credential_chain)")


def contended(error: BaseException) -> bool:
    """Whether ``error`` is a commit that lost a race on the catalog (a retry would succeed)."""
    text = str(error).lower()
    return any(marker in text for marker in CONTENTION_MARKERS)


def _folder(path: str) -> str:
    if "://" in path:
        return path if path.endswith("/") else f"{path}/"
    resolved = str(Path(path).expanduser().absolute())
    return f"{resolved}/"


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


if __name__ == "__main__":  # `python -m factory_assets.lib.lake`: install the extensions
    with duckdb.connect() as _conn:
        for _kind in _PACKAGED:
            load_extensions(_conn, _kind)
    print("DuckLake extensions installed: ducklake, " + ", ".join(_PACKAGED.values()))
