"""Flight features known before departure; one function for training, batch and online scoring.

Point in time: a flight on day D sees weather observed at or before its scheduled hour, and
late-rates computed from labelled flights of days D-window … D-1 only. Outcome columns
(departure and arrival times and delays, air time) are never read.
"""

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


def _key_ids(
    targets: pl.DataFrame, history: pl.DataFrame, names: list[str], same: bool
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], dict[str, int]]:
    """Dense integer ids of each name's key, per target row and per history row.

    The rows are matched once against the table of all key-column combinations; each name's
    ids then come from that small table, so 336k rows are joined once, not once per name.
    """
    columns = sorted({c for name in names for c in RATE_KEYS[name]})
    frames = [targets] if same else [targets, history]
    combos = (
        pl.concat([f.select(columns).unique() for f in frames])
        .unique(maintain_order=True)
        .with_row_index("_combo")
    )

    def combo_ids(frame: pl.DataFrame) -> np.ndarray:
        joined = frame.select(columns).join(combos, on=columns, how="left", maintain_order="left")
        return joined["_combo"].to_numpy().astype(np.int64)

    t_combo = combo_ids(targets)
    h_combo = t_combo if same else combo_ids(history)
    t_ids, h_ids, sizes = {}, {}, {}
    for name in names:
        per_combo = combos.select(pl.struct(RATE_KEYS[name]).rank("dense") - 1)
        lookup = per_combo.to_series().to_numpy().astype(np.int64)
        t_ids[name], h_ids[name] = lookup[t_combo], lookup[h_combo]
        sizes[name] = int(lookup.max()) + 1 if len(lookup) else 0
    return t_ids, h_ids, sizes


def late_rates(
    targets: pl.DataFrame,
    history: pl.DataFrame,
    names: list[str] | None = None,
    window_days: int = WINDOW_DAYS,
) -> pl.DataFrame:
    """``<name>_late_rate_<w>d`` and ``<name>_flights_<w>d`` for each row of ``targets``.

    Counts labelled history flights of the row's key on days [D - window_days, D - 1]: never
    day D itself, never a later day. The rate is null where there were none. Counts are laid
    on a dense (key x day) grid whose running sums give any window by one subtraction.

    Args:
        targets: rows to describe; only the key columns and ``flight_date`` are read.
        history: labelled flights; only HISTORY_COLUMNS are read. May be ``targets`` itself.
        names: keys of RATE_KEYS (default: all): ``route`` (origin, dest), ``carrier``.
        window_days: length of the window, ending the day before each target's day.
    """
    names = list(RATE_KEYS) if names is None else names
    schema = {}
    for name in names:
        schema[f"{name}_late_rate_{window_days}d"] = pl.Float64
        schema[f"{name}_flights_{window_days}d"] = pl.UInt32
    if targets.height == 0:
        return pl.DataFrame(schema=schema)
    same = targets is history
    t_ids, h_ids, sizes = _key_ids(targets, history, names, same)
    t_day = targets["flight_date"].to_physical().to_numpy().astype(np.int64)
    h_day = t_day if same else history["flight_date"].to_physical().to_numpy().astype(np.int64)
    first = int(t_day.min()) - window_days  # grid column 0 is the earliest window start
    n_days = int(t_day.max()) - first + 1
    keep = history["is_late"].is_not_null().to_numpy() & (h_day >= first)
    keep &= h_day < first + n_days
    late = history["is_late"].fill_null(False).to_numpy()[keep].astype(np.float64)
    # running sums have n_days + 1 columns; column d covers grid days < d, so the window of a
    # target on grid day j is cum[j] - cum[j - window_days], with j - window_days >= 0
    start = t_day - first - window_days
    width = n_days + 1 - window_days
    columns = {}
    for name in names:
        cell = h_ids[name][keep] * n_days + (h_day[keep] - first)
        where = t_ids[name] * width + start
        window = []
        for weights in (None, late):
            grid = np.bincount(cell, weights=weights, minlength=sizes[name] * n_days)
            cum = np.zeros((sizes[name], n_days + 1))
            np.cumsum(grid.reshape(sizes[name], n_days), axis=1, out=cum[:, 1:])
            sums = cum[:, window_days:] - cum[:, :-window_days]  # every window, per key and day
            window.append(sums.ravel().take(where))
        count, lates = window
        rate = np.divide(lates, count, out=np.full_like(count, np.nan), where=count > 0)
        columns[f"{name}_late_rate_{window_days}d"] = rate
        columns[f"{name}_flights_{window_days}d"] = count.astype(np.uint32)
    return pl.DataFrame(columns, schema=schema).with_columns(
        pl.col(f"{name}_late_rate_{window_days}d").fill_nan(None) for name in names
    )


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
    observed = pl.col("observed_hour_utc")
    ready = (
        pl.when(observed == observed.dt.truncate("1h"))
        .then(observed)
        .otherwise(observed.dt.truncate("1h") + pl.duration(hours=1))
    )
    obs = weather.select("origin", "observed_hour_utc", *WEATHER_COLUMNS).with_columns(
        ready.dt.epoch("s").floordiv(3600).alias("_hour")
    )
    target_hour = targets["scheduled_hour_utc"].dt.truncate("1h").dt.epoch("s") // 3600
    target_hour = target_hour.to_numpy().astype(np.int64)
    origins = {o: i for i, o in enumerate(pl.concat([targets["origin"], obs["origin"]]).unique())}
    t_origin = targets["origin"].replace_strict(origins, return_dtype=pl.Int64).to_numpy()
    o_origin = obs["origin"].replace_strict(origins, return_dtype=pl.Int64).to_numpy()
    if len(target_hour) == 0:
        return obs.select("observed_hour_utc", *WEATHER_COLUMNS).head(0)
    first = int(target_hour.min()) - WEATHER_TOLERANCE_HOURS
    width = int(target_hour.max()) - first + 1
    o_hour = obs["_hour"].to_numpy().astype(np.int64) - first
    grid = np.full((len(origins), width), -1, dtype=np.int64)
    inside = (o_hour >= 0) & (o_hour < width)
    # later observations of the same hour overwrite earlier ones: sort by time first
    order = np.argsort(obs["observed_hour_utc"].to_numpy(), kind="stable")
    order = order[inside[order]]
    grid[o_origin[order], o_hour[order]] = order
    filled = grid.copy()
    for lag in range(1, WEATHER_TOLERANCE_HOURS + 1):  # nearest earlier hour wins
        gap = filled[:, lag:] < 0
        filled[:, lag:][gap] = grid[:, :-lag][gap]
    rows = filled[t_origin, target_hour - first]
    values = obs.select("observed_hour_utc", *WEATHER_COLUMNS)
    rows[rows < 0] = values.height  # a last, all-null row stands for "no observation"
    return pl.concat([values, values.clear(1)])[pl.Series("_row", rows)]


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
    rates = late_rates(flights, history, list(RATE_KEYS), window_days)
    base = pl.concat([flights.select(SCHEDULE_COLUMNS), rates], how="horizontal")
    base = pl.concat(
        [base, weather_for(base, weather.lazy().collect(engine="in-memory"))], how="horizontal"
    )
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
    sched = pl.col("scheduled_departure_at")
    return (
        out.select(
            "flight_id",
            "flight_date",
            pl.col("carrier_code").alias("carrier"),
            "origin",
            "dest",
            pl.format("{}-{}", "origin", "dest").alias("route"),
            sched.dt.hour().cast(pl.Int8).alias("sched_hour"),
            sched.dt.weekday().cast(pl.Int8).alias("sched_weekday"),
            sched.dt.month().cast(pl.Int8).alias("sched_month"),
            pl.col("distance_mi").cast(pl.Float64),
            (pl.col("flight_date").dt.year() - pl.col("manufactured_year"))
            .cast(pl.Float64)
            .alias("plane_age_years"),
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
