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


def _key_ids(targets: pl.DataFrame, history: pl.DataFrame, keys: list[str], same: bool):  # noqa: ANN202
    """Dense integer ids of the key values, per target row and per history row."""
    frames = [targets] if same else [targets, history]
    table = (
        pl.concat([f.select(keys).unique() for f in frames])
        .unique(maintain_order=True)
        .with_row_index("_key")
    )

    def ids(frame: pl.DataFrame) -> np.ndarray:
        joined = frame.select(keys).join(table, on=keys, how="left", maintain_order="left")
        return joined["_key"].to_numpy().astype(np.int64)

    t_ids = ids(targets)
    return t_ids, (t_ids if same else ids(history)), table.height


def rolling_late_rates(
    targets: pl.DataFrame, history: pl.DataFrame, name: str, window_days: int = WINDOW_DAYS
) -> pl.DataFrame:
    """``<name>_late_rate_<w>d`` and ``<name>_flights_<w>d`` for each row of ``targets``.

    Counts labelled history flights of the row's key on days [D - window_days, D - 1]: never
    day D itself, never a later day. The rate is null where there were none. Counts are laid
    on a dense (key x day) grid whose running sums give any window by one subtraction.

    Args:
        targets: rows to describe; only the key columns and ``flight_date`` are read.
        history: labelled flights; only HISTORY_COLUMNS are read. May be ``targets`` itself.
        name: ``route`` (origin, dest) or ``carrier``.
        window_days: length of the window, ending the day before each target's day.
    """
    keys = RATE_KEYS[name]
    rate_name, count_name = f"{name}_late_rate_{window_days}d", f"{name}_flights_{window_days}d"
    same = targets is history
    t_ids, h_ids, n_keys = _key_ids(targets, history, keys, same)
    t_day = targets["flight_date"].to_physical().to_numpy().astype(np.int64)
    h_day = t_day if same else history["flight_date"].to_physical().to_numpy().astype(np.int64)
    if len(t_day) == 0:
        return pl.DataFrame(schema={rate_name: pl.Float64, count_name: pl.UInt32})
    first = int(t_day.min()) - window_days  # grid column 0 is the earliest window start
    n_days = int(t_day.max()) - first + 1
    labelled = history["is_late"].is_not_null().to_numpy()
    keep = labelled & (h_day >= first) & (h_day < first + n_days)
    cell = h_ids[keep] * n_days + (h_day[keep] - first)
    late = history["is_late"].fill_null(False).to_numpy()[keep].astype(np.float64)
    running = []
    for weights in (None, late):
        grid = np.bincount(cell, weights=weights, minlength=n_keys * n_days)
        cum = np.zeros((n_keys, n_days + 1))
        cum[:, 1:] = np.cumsum(grid.reshape(n_keys, n_days), axis=1)
        day = t_day - first  # cum[:, day] sums the days before D; day >= window_days
        running.append(cum[t_ids, day] - cum[t_ids, day - window_days])
    count, lates = running
    rate = np.divide(lates, count, out=np.full_like(count, np.nan), where=count > 0)
    return pl.DataFrame({rate_name: rate, count_name: count.astype(np.uint32)}).with_columns(
        pl.col(rate_name).fill_nan(None)
    )


def weather_at_hours(weather: pl.DataFrame, targets: pl.DataFrame) -> pl.DataFrame:
    """The latest observation per origin and hour, at most WEATHER_TOLERANCE_HOURS old.

    One row per (origin, hour) the targets need, so features join it exactly instead of
    sorting every flight for an as-of join. An observation counts from the first full hour
    at or after it was made, never earlier.
    """
    scheduled = pl.col("scheduled_hour_utc")
    span = targets.select(
        pl.datetime_ranges(
            scheduled.min().dt.truncate("1h") - pl.duration(hours=WEATHER_TOLERANCE_HOURS),
            scheduled.max().dt.truncate("1h"),
            "1h",
        ).alias("hour")
    ).explode("hour")
    observed = pl.col("observed_hour_utc")
    obs = (
        weather.select(["origin", "observed_hour_utc", *WEATHER_COLUMNS])
        .with_columns(
            pl.when(observed == observed.dt.truncate("1h"))
            .then(observed)
            .otherwise(observed.dt.truncate("1h") + pl.duration(hours=1))
            .alias("hour")
        )
        .sort("observed_hour_utc")
        .unique(["origin", "hour"], keep="last", maintain_order=True)
        .with_row_index("_obs")
    )
    origins = targets.select(pl.col("origin").unique().sort())
    grid = (
        origins.join(span, how="cross")
        .join(
            obs.select("origin", "hour", "_obs"),
            on=["origin", "hour"],
            how="left",
            maintain_order="left",
        )
        .with_columns(pl.col("_obs").forward_fill(limit=WEATHER_TOLERANCE_HOURS).over("origin"))
    )
    return grid.join(obs.drop("origin", "hour"), on="_obs", how="left").drop("_obs")


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
    rates = [rolling_late_rates(flights, history, name, window_days) for name in RATE_KEYS]
    base = pl.concat([flights.select(SCHEDULE_COLUMNS), *rates], how="horizontal")
    hours = weather_at_hours(weather.lazy().collect(engine="in-memory"), base)
    out = base.lazy().with_columns(pl.col("scheduled_hour_utc").dt.truncate("1h").alias("_hour"))
    out = out.join(
        hours.lazy(),
        left_on=["origin", "_hour"],
        right_on=["origin", "hour"],
        how="left",
        maintain_order="left",
    )
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
