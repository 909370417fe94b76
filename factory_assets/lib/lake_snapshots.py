"""Time travel for reproducibility: a model's rows read at the lake snapshot it recorded.

Every commit to the lake is a snapshot with an increasing id. Training and evaluation read
their labelled rows and the id of the snapshot those rows come from in one transaction, so the
pair matches even while other processes commit; the registered version keeps the ids (tags
``lake_snapshot`` and ``lake_snapshot_evaluation``), and ``read_labelled_at`` reads the very
same rows again later, whatever has landed since: the lake is attached as it was at the
snapshot, so the line's own SQL (feature table, label table, views) runs unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence

import duckdb
import polars as pl

from factory_assets.lib.lake import ALIAS, Lake
from factory_assets.lib.model_line import ModelLine

TRAINING_TAG = "lake_snapshot"  # the snapshot of the training and validation rows
EVALUATION_TAG = "lake_snapshot_evaluation"  # the snapshot of the holdout rows
SNAPSHOT_TAGS = (TRAINING_TAG, EVALUATION_TAG)


def current_snapshot(conn: duckdb.DuckDBPyConnection) -> int:
    """The id of the snapshot ``conn`` reads (inside a transaction: the transaction's)."""
    return int(conn.sql(f"select id from {ALIAS}.current_snapshot()").fetchone()[0])


def recorded_snapshot(results: dict, tag: str) -> int | None:
    """The snapshot a station's results (by segment) recorded under ``tag``; None: none did.

    A later station reads the same rows at it: the package scores the champion on the holdout
    the evaluation judged the challenger on, the leakage guard reads the training rows.
    """
    found = {int(r[tag]) for r in results.values() if isinstance(r, dict) and r.get(tag)}
    return max(found) if found else None  # one read per station: one snapshot


def labelled_frames(
    conn: duckdb.DuckDBPyConnection, line: ModelLine, window: Sequence, segments: list
) -> dict:
    """Labelled rows of ``window`` (inclusive) for each segment (None: all rows)."""
    params = [window[0], window[1]]
    if line.segments:
        params.append([s for s in segments if s is not None])
    frame = conn.sql(line.labelled_sql(bool(line.segments)), params=params).pl()
    frame = frame.filter(pl.col(line.columns.label).is_not_null())
    if not line.segments:
        return {None: frame}
    parts = frame.partition_by(line.segments.column, as_dict=True)
    return {s: parts.get((s,), frame.clear()) for s in segments}


def read_labelled(
    lake: Lake, line: ModelLine, window: Sequence, segments: list, snapshot: int | None = None
) -> tuple:
    """``labelled_frames`` and the id of the lake snapshot they come from.

    The newest snapshot's, both read in one transaction (a commit landing meanwhile changes
    neither); or, given ``snapshot``, that snapshot's (``read_labelled_at``).
    """
    if snapshot is not None:
        return read_labelled_at(lake, line, window, segments, snapshot), snapshot
    with lake.connect() as conn:
        conn.execute("begin transaction")
        try:
            snapshot = current_snapshot(conn)
            frames = labelled_frames(conn, line, window, segments)
        finally:
            conn.execute("rollback")  # it only read
    return frames, snapshot


def read_labelled_at(
    lake: Lake, line: ModelLine, window: Sequence, segments: list, snapshot: int
) -> dict:
    """``labelled_frames`` as the lake was at ``snapshot``: the rows a model recorded.

    Raises:
        duckdb.InvalidInputException: the lake has no such snapshot (expired, or never was).
    """
    with lake.connect(read_only=True, snapshot=snapshot) as conn:
        return labelled_frames(conn, line, window, segments)
