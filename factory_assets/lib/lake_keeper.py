"""A process that keeps a SQLite catalog open while the lake is in use, so readers never sleep.

DuckDB's SQLite scanner opens a new SQLite connection for each transaction and closes it after.
The last connection to close a WAL database checkpoints it and deletes the WAL under an
exclusive lock, and the next to open rebuilds the WAL index under one: a reader that meets
either lock waits in SQLite's busy handler, which in DuckDB's bundled SQLite sleeps a whole
second (reader_latency: 85 of 663 reads over 100 ms, p99 221 ms, during a backfill). While one
more connection stays open, no connection is ever the last: checkpoints are SQLite's passive
ones, which never block a reader.

That connection lives in a process of its own (two SQLite libraries in one process would break
each other's POSIX locks on the file). ``ensure`` starts it on a connect when none holds the
catalog's keeper lock; it exits when the catalog has been idle (neither it nor its WAL written)
for ``IDLE_S``, or is gone.

    python -m factory_assets.lib.lake_keeper <catalog>
"""

import fcntl
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

IDLE_S = 120.0  # no write for this long: the line is idle, the keeper goes
POLL_S = 2.0


def _lock_path(catalog: Path) -> Path:
    return catalog.with_name(f".{catalog.name}.keeper")


def _held(catalog: Path) -> bool:
    """Whether a keeper holds ``catalog``'s keeper lock."""
    try:
        with _lock_path(catalog).open("a") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
            return False  # closing the file releases the lock just taken
    except OSError:
        return True  # no place for a lock file: leave it


def ensure(catalog: str | Path) -> None:
    """Start a keeper of ``catalog`` (in the background) unless one runs."""
    path = Path(catalog)
    if os.environ.get("FACTORY_LAKE_KEEPER", "1") == "0" or not path.exists() or _held(path):
        return
    subprocess.Popen(  # noqa: S603 (this interpreter, this module)
        [sys.executable, "-m", __name__, str(path)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # not in the caller's process group: a step's end leaves it
        close_fds=True,
    )


def _last_write(catalog: Path) -> float:
    """The newest modification time of the catalog and its WAL (0 when gone)."""
    times = [p.stat().st_mtime for p in (catalog, Path(f"{catalog}-wal")) if p.exists()]
    return max(times, default=0.0)


def keep(catalog: Path, idle_s: float = IDLE_S, poll_s: float = POLL_S) -> None:
    """Hold ``catalog`` open until it is idle for ``idle_s`` or removed (one keeper wins)."""
    with _lock_path(catalog).open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return  # another keeper won the race
        db = sqlite3.connect(catalog, timeout=60)
        try:
            db.execute("select count(*) from sqlite_master").fetchall()  # maps the WAL index
            seen, last = _last_write(catalog), time.monotonic()
            while catalog.exists():
                time.sleep(poll_s)
                if (now := _last_write(catalog)) != seen:
                    seen, last = now, time.monotonic()
                elif time.monotonic() - last > idle_s:
                    break
        finally:
            db.close()


if __name__ == "__main__":
    keep(Path(sys.argv[1]))
