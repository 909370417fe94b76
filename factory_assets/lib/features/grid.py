"""Building blocks of the flight features on integer grids, with no string join and no sort.

Keys become integer codes once (a Categorical cast), codes become cell ids of a dense grid,
running sums over a grid's days give every window by one subtraction, and calendar columns
come from a table of the days the rows span instead of a per-row calendar conversion.
"""

import datetime as dt

import numpy as np
import polars as pl

MAX_SPARSE_KEYS = 4096  # key ids up to this many are used as they come, gaps and all
PER_HOUR = {"ns": 3_600_000_000_000, "us": 3_600_000_000, "ms": 3_600_000}
EPOCH = dt.date(1970, 1, 1)


def key_codes(frames: dict[str, list[pl.DataFrame]]) -> dict[str, np.ndarray]:
    """Integer codes of each column's values; a value has the same code in all its frames.

    A Categorical cast hashes each string once, with no sort and no join; null gets a code too.
    The columns are cast side by side (one query each, run together).

    Args:
        frames: per column, the frames whose rows it codes.

    Returns:
        Per column, the codes (0 … n - 1) of its frames' rows, one frame after another.
    """
    queries = [
        pl.concat([f.lazy().select(column) for f in column_frames]).select(
            pl.col(column).cast(pl.Categorical(pl.Categories.random())).to_physical()
        )
        for column, column_frames in frames.items()
    ]
    codes = {}
    for coded in pl.collect_all(queries, engine="in-memory"):
        code = coded.to_series()
        if code.null_count():  # the code after the last
            code = code.fill_null(0 if code.max() is None else code.max() + 1)
        codes[code.name] = code.to_numpy()
    return codes


def key_ids(codes: dict[str, np.ndarray], columns: list[str]) -> tuple[np.ndarray, int]:
    """An id per row of the key ``columns`` (codes of ``key_codes``), in 0 … n - 1; and n.

    An id is the mixed-radix number of the key's codes, renumbered densely only if there could
    be more than MAX_SPARSE_KEYS (a grid of a few thousand keys costs nothing).
    """
    first, *rest = columns
    ids = codes[first].astype(np.int64)
    for column in rest:
        ids *= int(codes[column].max()) + 1
        ids += codes[column]
    size = int(ids.max()) + 1
    if size > MAX_SPARSE_KEYS:
        keys, ids = np.unique(ids, return_inverse=True)
        size = len(keys)
    return ids, size


def running_windows(counts: np.ndarray, window_days: int) -> tuple[np.ndarray, np.ndarray]:
    """Late rate and labelled flights of every (key, day) over days [day - window_days, day - 1].

    Args:
        counts: flights per (key, day, slot): on time, late, unlabelled.
        window_days: length of the window; days before it are no target's day and stay 0.
    """
    running = counts.cumsum(axis=1)  # flights of days <= d
    totals = running[:, :, 0] + running[:, :, 1]
    count, lates = np.zeros(totals.shape, np.int64), np.zeros(totals.shape, np.int64)
    for window, upto in ((count, totals), (lates, running[:, :, 1])):
        # the window of day j is upto[j - 1] - upto[j - 1 - window_days]
        window[:, window_days] = upto[:, window_days - 1]
        np.subtract(
            upto[:, window_days:-1], upto[:, : -1 - window_days], out=window[:, window_days + 1 :]
        )
    rate = np.divide(lates, count, out=np.full(count.shape, np.nan), where=count > 0)
    return rate, count


def calendar_parts(base: pl.DataFrame) -> tuple[pl.Expr, pl.Expr, pl.Expr, pl.Expr]:
    """Hour, ISO weekday and month of ``scheduled_departure_at``; year of ``flight_date``.

    What ``dt.hour()`` and the like give, without their per-row calendar conversion where the
    timestamps are naive: the hour is arithmetic on the stored integer, the rest comes from a
    table of the days the rows span (a year of flights: a few hundred days).
    """
    sched, date = pl.col("scheduled_departure_at"), pl.col("flight_date")
    stamp = base.schema["scheduled_departure_at"]
    calendar = (sched.dt.hour(), sched.dt.weekday(), sched.dt.month(), date.dt.year())
    if stamp.time_zone is not None or base.schema["flight_date"] != pl.Date:
        return calendar
    per_hour = PER_HOUR[stamp.time_unit]
    stamps, dates = base["scheduled_departure_at"].to_physical(), base["flight_date"].to_physical()
    ends = [s // (24 * per_hour) for s in (stamps.min(), stamps.max()) if s is not None]
    ends += [d for d in (dates.min(), dates.max()) if d is not None]
    if not ends:  # all null either way
        return calendar
    lo, hi = min(ends), max(ends)
    days = pl.date_range(EPOCH + dt.timedelta(days=lo), EPOCH + dt.timedelta(days=hi), eager=True)
    day = sched.to_physical() // (24 * per_hour) - lo  # row of ``days``
    return (
        (sched.to_physical() - (day + lo) * (24 * per_hour)) // per_hour,
        pl.lit(days.dt.weekday()).gather(day),
        pl.lit(days.dt.month()).gather(day),
        pl.lit(days.dt.year()).gather(date.to_physical() - lo),
    )
