"""Flight features known before departure; one function for training, batch and online scoring.

Point in time: a flight on day D sees weather observed at or before its scheduled hour, and
late-rates computed from labelled flights of days D-window … D-1 only. Outcome columns
(departure and arrival times and delays, air time) are never read.

Keys (route, carrier, origin) become integer codes once, by a Categorical cast; rates and
weather are then laid on small (key x day) and (origin x hour) grids, and each flight gathers
its cell: no string join, no sort, no as-of join over the 336k rows of a year.
"""

import datetime as dt

import numpy as np
import polars as pl

WINDOW_DAYS = 28
WEATHER_TOLERANCE_HOURS = 3  # an observation older than this is treated as missing
WEATHER_COLUMNS = [
    "temperature_f",
    "dewpoint_f",
    "humidity_pct",
    "wind_speed_mph",
    "wind_gust_mph",
    "precipitation_in",
    "pressure_mb",
    "visibility_mi",
]
# The columns of flight_features besides its key and date: what a model of flights may read
# (defs/models/<model>/defs.yaml names the ones it does; lib/catalog.py declares the table).
CATEGORICAL = ["carrier", "origin", "dest", "route"]
NUMERIC = [
    "sched_hour",
    "sched_weekday",
    "sched_month",
    "distance_mi",
    "plane_age_years",
    "plane_seats",
    "plane_engines",
    "weather_age_hours",
    *WEATHER_COLUMNS,
    "route_late_rate_28d",
    "route_flights_28d",
    "carrier_late_rate_28d",
    "carrier_flights_28d",
]
FEATURE_COLUMNS = ("flight_id", "flight_date", *CATEGORICAL, *NUMERIC)
# What a scheduled flight carries before departure; features read nothing else of it.
SCHEDULE_COLUMNS = [
    "flight_id",
    "flight_date",
    "carrier_code",
    "origin",
    "dest",
    "tailnum",
    "scheduled_departure_at",
    "scheduled_hour_utc",
    "distance_mi",
]
HISTORY_COLUMNS = ["flight_date", "carrier_code", "origin", "dest", "is_late"]
RATE_KEYS = {"route": ["origin", "dest"], "carrier": ["carrier_code"]}
MAX_SPARSE_KEYS = 4096  # key ids up to this many are used as they come, gaps and all
PER_HOUR = {"ns": 3_600_000_000_000, "us": 3_600_000_000, "ms": 3_600_000}
EPOCH = dt.date(1970, 1, 1)


def _codes(frames: dict[str, list[pl.DataFrame]]) -> dict[str, np.ndarray]:
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


def _key_ids(codes: dict[str, np.ndarray], columns: list[str]) -> tuple[np.ndarray, int]:
    """An id per row of the key ``columns`` (codes of ``_codes``), in 0 … n - 1; and n.

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


def late_rates(
    targets: pl.DataFrame,
    history: pl.DataFrame,
    names: list[str] | None = None,
    window_days: int = WINDOW_DAYS,
) -> pl.DataFrame:
    """``<name>_late_rate_<w>d`` and ``<name>_flights_<w>d`` for each row of ``targets``.

    Counts labelled history flights of the row's key on days [D - window_days, D - 1]: never
    day D itself, never a later day. The rate is null where there were none. Counts are laid
    on a dense (key x day) grid whose running sums give every window by one subtraction;
    rates are computed on the grid, and each target row gathers its (key, day) cell.

    Args:
        targets: rows to describe; only the key columns and ``flight_date`` are read.
        history: labelled flights; only HISTORY_COLUMNS are read. May be ``targets`` itself.
        names: keys of RATE_KEYS (default: all): ``route`` (origin, dest), ``carrier``.
        window_days: length of the window, ending the day before each target's day.
    """
    names = list(RATE_KEYS) if names is None else names
    frames = [targets] if targets is history else [targets, history]
    columns = sorted({c for name in names for c in RATE_KEYS[name]})
    codes = _codes(dict.fromkeys(columns, frames)) if targets.height else {}
    return _late_rates(targets, history, codes, names, window_days)


def _late_rates(
    targets: pl.DataFrame,
    history: pl.DataFrame,
    codes: dict[str, np.ndarray],
    names: list[str],
    window_days: int,
) -> pl.DataFrame:
    """``late_rates`` given the key codes of the target rows, then the history rows (if apart)."""
    schema = {}
    for name in names:
        schema[f"{name}_late_rate_{window_days}d"] = pl.Float64
        schema[f"{name}_flights_{window_days}d"] = pl.UInt32
    if targets.height == 0:
        return pl.DataFrame(schema=schema)
    same, n = targets is history, targets.height
    t_day = targets["flight_date"].to_physical().to_numpy()
    first = int(t_day.min()) - window_days  # grid day 0 is the earliest window's first day
    n_days = int(t_day.max()) - first + 1
    t_day = t_day - first
    # what a history flight adds to its cell: slot 0 on time, 1 late, 2 nothing (no label)
    slot = history["is_late"].cast(pl.Int8).fill_null(2).to_numpy()
    if not same:
        h_day = history["flight_date"].to_physical().to_numpy() - first
        outside = (h_day < 0) | (h_day >= n_days)
        slot, h_day = np.where(outside, 2, slot), np.where(outside, 0, h_day)
    out = []
    for name in names:
        cells, size = _key_ids(codes, RATE_KEYS[name])
        cells *= n_days  # a row's (key, day) cell: key * n_days + day
        cells[:n] += t_day
        if not same:
            cells[n:] += h_day
        h_slot = (cells if same else cells[n:]) * 3
        h_slot += slot
        counts = np.bincount(h_slot, minlength=size * n_days * 3).reshape(size, n_days, 3)
        rate, count = _windows(counts, window_days)
        windows = pl.DataFrame(
            {
                f"{name}_late_rate_{window_days}d": pl.Series(rate.ravel(), nan_to_null=True),
                f"{name}_flights_{window_days}d": count.ravel().astype(np.uint32),
            }
        )
        out.append(windows[cells[:n]])
    return pl.concat(out, how="horizontal")


def _windows(counts: np.ndarray, window_days: int) -> tuple[np.ndarray, np.ndarray]:
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


def rolling_late_rates(
    targets: pl.DataFrame, history: pl.DataFrame, name: str, window_days: int = WINDOW_DAYS
) -> pl.DataFrame:
    """The late rate and count of one key (``route`` or ``carrier``); see ``late_rates``."""
    return late_rates(targets, history, [name], window_days)


def weather_for(targets: pl.DataFrame, weather: pl.DataFrame) -> pl.DataFrame:
    """Per target row, the latest observation at its origin at most 3 hours before it.

    An observation counts from the first full hour at or after it was made, never earlier, and
    a flight looks it up at its scheduled hour. Observations are laid on an (origin x hour)
    grid that is forward-filled at most WEATHER_TOLERANCE_HOURS steps, so each flight needs
    one array lookup instead of a sort and an as-of join.

    Returns:
        ``observed_hour_utc`` and WEATHER_COLUMNS, one row per target row, in its order.
    """
    obs = _observations(weather)
    origin = _codes({"origin": [targets, obs]})["origin"] if targets.height else None
    return _weather_for(targets, obs, origin)


def _observations(weather: pl.DataFrame) -> pl.DataFrame:
    """The weather rows ``weather_for`` reads, with ``_hour``: the first hour they count in."""
    observed = pl.col("observed_hour_utc")
    ready = (
        pl.when(observed == observed.dt.truncate("1h"))
        .then(observed)
        .otherwise(observed.dt.truncate("1h") + pl.duration(hours=1))
    )
    return weather.select("origin", "observed_hour_utc", *WEATHER_COLUMNS).with_columns(
        ready.dt.epoch("s").floordiv(3600).alias("_hour")
    )


def _weather_for(
    targets: pl.DataFrame, obs: pl.DataFrame, origin: np.ndarray | None
) -> pl.DataFrame:
    """``weather_for`` given the origin codes of the target rows, then the observations."""
    values = obs.select("observed_hour_utc", *WEATHER_COLUMNS)
    if targets.height == 0:
        return values.head(0)
    stamps = targets["scheduled_hour_utc"]
    if stamps.dtype.time_zone is None:  # naive: the stored integer, floored to the hour
        hours = stamps.to_physical() // PER_HOUR[stamps.dtype.time_unit]
    else:
        hours = stamps.dt.truncate("1h").dt.epoch("s") // 3600
    first = hours.min() - WEATHER_TOLERANCE_HOURS
    width = hours.max() - first + 1
    o_hour = obs["_hour"].to_numpy().astype(np.int64) - first
    o_origin = origin[targets.height :]
    grid = np.full((int(origin.max()) + 1, width), -1, dtype=np.int64)
    inside = (o_hour >= 0) & (o_hour < width)
    # later observations of the same hour overwrite earlier ones: sort by time first
    order = np.argsort(obs["observed_hour_utc"].to_numpy(), kind="stable")
    order = order[inside[order]]
    grid[o_origin[order], o_hour[order]] = order
    filled = grid.copy()
    for lag in range(1, WEATHER_TOLERANCE_HOURS + 1):  # nearest earlier hour wins
        gap = filled[:, lag:] < 0
        filled[:, lag:][gap] = grid[:, :-lag][gap]
    filled[filled < 0] = values.height  # a last, all-null row stands for "no observation"
    # each target's (origin, hour) cell; Polars arithmetic, whose allocator keeps its pages
    cell = pl.Series(origin[: targets.height]).cast(pl.Int64) * width + (hours - first)
    rows = pl.Series(filled.ravel().astype(np.uint32)).gather(cell)
    # one chunk: a gather from a single chunk is about twice as fast
    return pl.concat([values, values.clear(1)], rechunk=True)[rows]


def flight_features(
    flights: pl.DataFrame | pl.LazyFrame,
    history: pl.DataFrame | pl.LazyFrame,
    weather: pl.DataFrame | pl.LazyFrame,
    planes: pl.DataFrame | pl.LazyFrame,
    window_days: int = WINDOW_DAYS,
) -> pl.DataFrame:
    """One row of pre-departure features per flight in ``flights``.

    Args:
        flights: flights to describe (fct_flights shape; only SCHEDULE_COLUMNS are read).
        history: labelled flights (fct_flights shape; only HISTORY_COLUMNS are read); rows of a
            flight's own day or later never reach its features.
        weather: fct_weather_hourly rows (origin, observed_hour_utc and WEATHER_COLUMNS).
        planes: dim_planes rows (tailnum, manufactured_year, seats, engines).
        window_days: length of the late-rate window, ending the day before the flight.

    Returns:
        flight_id, flight_date, categorical and numeric features, in the order of ``flights``.

    """
    flights = flights.lazy().collect(engine="in-memory")
    history = flights if history is flights else history.lazy().collect(engine="in-memory")
    obs = _observations(weather.lazy().collect(engine="in-memory"))
    frames = [flights] if history is flights else [flights, history]
    codes, origin = {}, None
    if flights.height:  # origin is coded once, for the late rates and the weather
        codes = _codes({"carrier_code": frames, "dest": frames, "origin": [*frames, obs]})
        origin = codes["origin"]
        rows = origin.size - obs.height  # the flights', then the history's if apart
        codes["origin"] = origin[:rows]
        origin = np.concatenate([origin[: flights.height], origin[rows:]])
    rates = _late_rates(flights, history, codes, list(RATE_KEYS), window_days)
    base = pl.concat([flights.select(SCHEDULE_COLUMNS), rates], how="horizontal")
    base = pl.concat([base, _weather_for(base, obs, origin)], how="horizontal")
    return assemble_features(base, planes, window_days)


def assemble_features(
    base: pl.DataFrame, planes: pl.DataFrame | pl.LazyFrame, window_days: int = WINDOW_DAYS
) -> pl.DataFrame:
    """The feature rows from schedule, late-rate and weather columns plus the plane registry.

    The last step of ``flight_features``; online scoring calls it on rows whose late rates and
    weather were looked up in tables that ``late_rates`` and ``weather_for`` built.

    Args:
        base: SCHEDULE_COLUMNS, the ``late_rates`` columns, ``observed_hour_utc`` and
            WEATHER_COLUMNS, one row per flight.
        planes: dim_planes rows (tailnum, manufactured_year, seats, engines).
        window_days: the late-rate window the rate columns are named after.
    """
    out = base.lazy()
    plane = planes.lazy().select(
        "tailnum",
        "manufactured_year",
        pl.col("seats").alias("plane_seats"),
        pl.col("engines").alias("plane_engines"),
    )
    out = out.join(plane, on="tailnum", how="left", maintain_order="left")
    hour, weekday, month, year = _calendar(base)
    return (
        out.select(
            "flight_id",
            "flight_date",
            pl.col("carrier_code").alias("carrier"),
            "origin",
            "dest",
            pl.format("{}-{}", "origin", "dest").alias("route"),
            hour.cast(pl.Int8).alias("sched_hour"),
            weekday.cast(pl.Int8).alias("sched_weekday"),
            month.cast(pl.Int8).alias("sched_month"),
            pl.col("distance_mi").cast(pl.Float64),
            (year - pl.col("manufactured_year")).cast(pl.Float64).alias("plane_age_years"),
            pl.col("plane_seats").cast(pl.Float64),
            pl.col("plane_engines").cast(pl.Float64),
            (
                (pl.col("scheduled_hour_utc") - pl.col("observed_hour_utc")).dt.total_minutes() / 60
            ).alias("weather_age_hours"),
            *WEATHER_COLUMNS,
            f"route_late_rate_{window_days}d",
            f"route_flights_{window_days}d",
            f"carrier_late_rate_{window_days}d",
            f"carrier_flights_{window_days}d",
        ).collect(engine="in-memory")  # faster than the streaming default at this size
    )


def _calendar(base: pl.DataFrame) -> tuple[pl.Expr, pl.Expr, pl.Expr, pl.Expr]:
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
