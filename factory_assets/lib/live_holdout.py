"""The live holdout: the newest labelled periods the line served, to judge champion and challenger.

A fixed holdout judges every model on the same old rows; the live holdout judges them on what
the line served lately. It is the labelled rows of the newest ``periods`` periods (days, weeks,
hours or batches: the line's own) in the predictions table, without the rows any judged model
trained or validated on: a dated line drops every period that touches such a window, a model
without a time axis (a key-hash split) keeps only the rows of its holdout buckets. Champion
(its registered package) and challenger are scored on exactly these rows; the champion's
realised served metrics (what the table holds) come with them.
"""

import datetime as dt
from dataclasses import dataclass

import numpy as np
import polars as pl

from factory_assets.lib.model_line import SPLIT_DAY, ModelLine

SERVED_PREFIX = "_served_"  # the predictions table's columns, renamed beside the features
PERIOD = "_live_period"  # a row's partition value in the predictions table (day, hour, batch)


@dataclass(frozen=True)
class LiveRows:
    """The live holdout's rows (features, label, what was served) and its periods, oldest first."""

    rows: pl.DataFrame
    periods: list[str]
    why_none: str | None = None  # why there are no rows (off, nothing served, ...)


def _overlaps(first: dt.date, last: dt.date, windows: list[tuple[dt.date, dt.date]]) -> bool:
    return any(first <= end and last >= start for start, end in windows)


def _date(value: object) -> dt.date:
    return value.date() if isinstance(value, dt.datetime) else dt.date.fromisoformat(str(value))


def _windows(windows: list) -> list[tuple[dt.date, dt.date]]:
    return [(_date(a), _date(b)) for a, b in windows if a and b]


def served_periods(conn, line: ModelLine, segment: str | None) -> list[tuple]:  # noqa: ANN001
    """(partition value, labelled rows) of every served day, hour or batch of a segment."""
    c, p = line.columns, line.partition_column
    segment_join, params = "", []
    if segment is not None and line.segments:
        segment_join = f" join {line.features} f using ({c.key}) where f.{line.segments.column} = ?"
        params.append(segment)
    sql = (
        f"select p.{p} as v, count(t.{c.label}) as labelled from {line.predictions} p "
        f"left join {line.label_table} t using ({c.key}){segment_join} group by 1"
    )
    return [tuple(row) for row in conn.execute(sql, params).fetchall()]


def choose_periods(served: list[tuple], line: ModelLine, n: int, excluded: list) -> dict:
    """The newest ``n`` labelled periods (key -> partition values) outside ``excluded``.

    ``served`` holds (partition value, labelled rows) of the predictions table: days or hours
    grouped into the line's calendar periods, batches each a period. Periods served in the
    newest ``label_lag`` periods are left out (their labels land later; one present early is
    not read ahead of time), as are periods without labelled rows. A dated period that touches
    an excluded (first, last) date window is dropped; a batch is kept (a key-hash split's rows
    are filtered by bucket).
    """
    windows = _windows(excluded)
    grouped: dict[str, list] = {}
    labelled: dict[str, int] = {}
    for value, count in served:
        key = str(value) if line.batches else line.calendar.period_of(value).key
        grouped.setdefault(key, []).append(value)
        labelled[key] = labelled.get(key, 0) + count
    keys = sorted(grouped)[: len(grouped) - line.label_lag]
    keys = [k for k in keys if labelled[k] > 0]
    if line.split is None:
        keys = [k for k in keys if not _overlaps(*_days(line, k), windows)]
    return {key: grouped[key] for key in (keys[-n:] if n > 0 else [])}


def _days(line: ModelLine, key: str) -> tuple[dt.date, dt.date]:
    period = line.calendar.period(key)
    return period.first_day, period.last_day


def rows_sql(line: ModelLine, segmented: bool) -> str:
    """Feature rows with label and served prediction of a list of partition values."""
    c = line.columns
    served = ", ".join(f"p.{n} as {SERVED_PREFIX}{n}" for n in line.prediction_columns)
    label = f", t.{c.label}" if line.labels_from else ""
    split = f", {line.split.day_sql('f.' + c.key)} as {SPLIT_DAY}" if line.split else ""
    where = f" and f.{line.segments.column} = ?" if segmented else ""
    return (
        f"select f.*{label}{split}, {served}, p.model_name as {SERVED_PREFIX}model_name, "
        f"p.model_version as {SERVED_PREFIX}model_version, p.{line.partition_column} as {PERIOD} "
        f"from {line.predictions} p join {line.features} f using ({c.key}) "
        f"join {line.label_table} t using ({c.key}) "
        f"where p.{line.partition_column} in (select unnest(?)) and t.{c.label} is not null"
        f"{where} order by f.{c.key}"
    )


def live_rows(  # noqa: PLR0913
    conn,  # noqa: ANN001 (a DuckDB connection)
    line: ModelLine,
    segment: str | None,
    periods: int,
    excluded: list,
) -> LiveRows:
    """The live holdout of ``segment``: rows of its newest ``periods`` labelled served periods.

    ``excluded``: (first, last) date windows (ISO strings or dates) of the judged models'
    training and validation; for a key-hash split these are its virtual days, so only the
    rows of keys outside every window (the holdout buckets) are kept.
    """
    from factory_assets.lib.warehouse import table_exists

    if periods <= 0:
        return LiveRows(pl.DataFrame(), [], "evaluation.live_periods is 0 (off)")
    if not table_exists(conn, line.predictions):
        return LiveRows(pl.DataFrame(), [], f"{line.predictions} does not exist (nothing served)")
    chosen = choose_periods(served_periods(conn, line, segment), line, periods, excluded)
    if not chosen:
        return LiveRows(pl.DataFrame(), [], "no labelled served period outside the models' "
                        "training and validation windows")  # fmt: skip
    values = [v for vs in chosen.values() for v in vs]
    segmented = segment is not None and bool(line.segments)
    params = [values, *([segment] if segmented else [])]
    rows = conn.sql(rows_sql(line, segmented), params=params).pl()
    if line.split is not None:
        windows = _windows(excluded)
        day = rows[SPLIT_DAY].cast(pl.Date)
        for start, end in windows:
            rows = rows.filter(~day.is_between(start, end))
            day = rows[SPLIT_DAY].cast(pl.Date)
    if rows.is_empty():
        return LiveRows(rows, [], "every labelled served row is in a training or validation window")
    return LiveRows(rows, list(chosen))


def served_predictions(rows: pl.DataFrame, line: ModelLine) -> np.ndarray:
    """The predictions the line served for ``rows`` (``live_rows``'), shaped as the task's."""
    from factory_assets.lib.performance import served

    renamed = rows.select(pl.col(f"{SERVED_PREFIX}{n}").alias(n) for n in line.prediction_columns)
    return served(renamed, line.task)


def described(live: LiveRows) -> dict:
    """The window of a live holdout: first and last period, periods and rows."""
    if not live.periods:
        return {"first": None, "last": None, "periods": 0, "rows": 0, "why_none": live.why_none}
    return {
        "first": live.periods[0],
        "last": live.periods[-1],
        "periods": len(live.periods),
        "rows": live.rows.height,
    }
