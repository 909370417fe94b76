"""Housekeeping of the lake with DuckLake's own functions: expire, rewrite, merge, clean up.

Every daily write adds a snapshot and small Parquet files; nothing is ever deleted by itself
(time travel can still read it). ``maintain`` runs, in the order DuckLake's ``CHECKPOINT`` does
(but rewrite before merge, so that rewritten files merge in the same pass):

1. ``ducklake_expire_snapshots(versions => [...])``: the snapshots older than an age, but never
   the newest one nor those a registered model version was trained or evaluated on (``keep``):
   they stay readable with ``AT (VERSION => n)``, and so do the files they reference;
2. ``ducklake_rewrite_data_files``: a file with at least ``delete_threshold`` of its rows
   deleted is written again without them (an incremental delete+insert leaves those: the line's
   ``fct_flights`` files lose about half their rows the day after, when outcomes land);
3. ``ducklake_merge_adjacent_files``: small files become one, time travel unchanged (a merged
   file records which snapshot wrote which rows);
4. ``ducklake_cleanup_old_files(older_than => …)``: deletes the files that steps 1-3 (or an
   earlier run) scheduled for deletion that long ago, so a query still reading them finishes.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass

import duckdb

from factory_assets.lib.lake import ALIAS, Lake


@dataclass(frozen=True)
class Housekeeping:
    """What one maintenance pass did, with the data path's files and bytes before and after."""

    files_before: int
    bytes_before: int
    files_after: int
    bytes_after: int
    snapshots_before: int
    snapshots_expired: list[int]
    snapshots_kept: list[int]  # registered versions' snapshots that were old enough to expire
    files_rewritten: int  # files written again without their deleted rows
    files_merged: int  # small files rewritten into ``files_written``
    files_written: int
    files_deleted: int

    def metadata(self) -> dict:
        """The figures as a flat dict (Dagster metadata, CLI output)."""
        return asdict(self)


def disk_use(conn: duckdb.DuckDBPyConnection, data_path: str) -> tuple[int, int]:
    """Files and bytes under the lake's data path (a folder or object storage: one listing).

    Counts what is really there: live files, files of old snapshots, files scheduled for
    deletion and any orphan. ``read_blob`` reads only the sizes when ``content`` is not asked.
    """
    pattern = data_path.replace("'", "''") + "**"
    files, size = conn.execute(f"select count(*), sum(size) from read_blob('{pattern}')").fetchone()
    return int(files), int(size or 0)


def expirable(
    conn: duckdb.DuckDBPyConnection, older_than: dt.timedelta, keep: set[int]
) -> tuple[list[int], list[int]]:
    """The snapshots to expire (older than ``older_than``, not the newest, not in ``keep``).

    Returns:
        (to expire, kept): ids, ascending; ``kept`` are the old ones left for ``keep``.
    """
    old = [
        sid
        for (sid,) in conn.execute(
            f"select snapshot_id from ducklake_snapshots('{ALIAS}') "  # noqa: S608
            "where snapshot_time < now() - to_microseconds($age) "
            f"and snapshot_id < (select max(snapshot_id) from ducklake_snapshots('{ALIAS}')) "
            "order by snapshot_id",
            {"age": int(older_than.total_seconds() * 1_000_000)},
        ).fetchall()
    ]
    return [s for s in old if s not in keep], [s for s in old if s in keep]


def cleanup_cutoff(lake: Lake, age: dt.timedelta, now: dt.datetime) -> dt.datetime:
    """The ``older_than`` to pass to ``ducklake_cleanup_old_files`` for files ``age`` old.

    On a SQLite catalog DuckLake 1.5.5 compares the times by day: every file scheduled on the
    cutoff's day (or before) goes, even one scheduled after the cutoff. The cutoff is moved
    back to just before that day, so no file younger than ``age`` is deleted (some are kept up
    to a day longer). A Postgres catalog compares exactly.
    """
    cutoff = now - age
    if lake.kind != "sqlite":
        return cutoff
    day = dt.datetime.combine(cutoff.astimezone(dt.UTC).date(), dt.time(), dt.UTC)
    return day - dt.timedelta(microseconds=1)


def _cleanup(conn: duckdb.DuckDBPyConnection, lake: Lake, age: dt.timedelta) -> list:
    """Delete the files scheduled for deletion ``age`` ago or more (all of them for 0)."""
    if age <= dt.timedelta(0):
        everything = f"call ducklake_cleanup_old_files('{ALIAS}', cleanup_all => true)"
        return conn.execute(everything).fetchall()
    cutoff = cleanup_cutoff(lake, age, dt.datetime.now(dt.UTC))
    return conn.execute(
        f"call ducklake_cleanup_old_files('{ALIAS}', older_than => $cutoff)", {"cutoff": cutoff}
    ).fetchall()


def maintain(
    lake: Lake,
    keep: set[int],
    expire_older_than: dt.timedelta,
    cleanup_older_than: dt.timedelta,
    delete_threshold: float = 0.25,
) -> Housekeeping:
    """Expire old snapshots but ``keep``, rewrite, merge, delete the files no snapshot needs.

    ``delete_threshold``: the share of a file's rows that must be deleted for a rewrite.

    Each call is a commit of its own (DuckLake's functions commit themselves); one that loses a
    race with a writer fails whole, for the step's retry to run again.
    """
    with lake.connect() as conn:
        files_before, bytes_before = disk_use(conn, lake.data_path)
        (snapshots_before,) = conn.execute(
            f"select count(*) from ducklake_snapshots('{ALIAS}')"  # noqa: S608
        ).fetchone()
        expire, kept = expirable(conn, expire_older_than, keep)
        if expire:  # an empty list would be "expire nothing"; the call refuses it
            conn.execute(
                f"call ducklake_expire_snapshots('{ALIAS}', versions => $v)", {"v": expire}
            )
        rewritten = conn.execute(
            f"call ducklake_rewrite_data_files('{ALIAS}', delete_threshold => $t)",
            {"t": delete_threshold},
        ).fetchall()
        merged = conn.execute(f"call ducklake_merge_adjacent_files('{ALIAS}')").fetchall()
        deleted = _cleanup(conn, lake, cleanup_older_than)
        files_after, bytes_after = disk_use(conn, lake.data_path)
    return Housekeeping(
        files_before=files_before,
        bytes_before=bytes_before,
        files_after=files_after,
        bytes_after=bytes_after,
        snapshots_before=int(snapshots_before),
        snapshots_expired=expire,
        snapshots_kept=kept,
        files_rewritten=sum(int(row[2]) for row in rewritten),
        files_merged=sum(int(row[2]) for row in merged),
        files_written=sum(int(row[3]) for row in merged),
        files_deleted=len(deleted),
    )
