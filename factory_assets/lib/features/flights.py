"""Flight features known before departure; one function for training, batch and online scoring.

Point in time: a flight on day D sees weather observed at or before its scheduled hour, and
late-rates computed from labelled flights of days D-window … D-1 only. Outcome columns
(departure and arrival times and delays, air time) are never read.
"""

import datetime as dt

import polars as pl

WINDOW_DAYS = 28
WEATHER_TOLERANCE = "3h"  # an observation older than this is treated as missing
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


DAY_KEYS = ["carrier_code", "origin", "dest", "flight_date"]


def labelled_daily(history: pl.DataFrame | pl.LazyFrame) -> pl.LazyFrame:
    """Labelled flights ``n`` and late flights ``late`` per carrier, route and day."""
    return (
        history.lazy()
        .select(HISTORY_COLUMNS)
        .filter(pl.col("is_late").is_not_null())
        .group_by(DAY_KEYS)
        .agg(pl.len().alias("n"), pl.col("is_late").cast(pl.Int64).sum().alias("late"))
    )


def _windowed(wanted: pl.LazyFrame, daily: pl.LazyFrame, name: str, window_days: int):
    """Rates per (key, day) of ``wanted`` from daily counts, over days D-window … D-1."""
    keys = RATE_KEYS[name]
    wanted = wanted.select([*keys, "flight_date"]).unique()
    per_key = daily.group_by([*keys, "flight_date"]).agg(pl.col("n", "late").sum())
    # One block of consecutive days per key, starting window+1 days before the first target day;
    # that first day is zeroed, so differences of one global running sum never cross blocks.
    start = pl.col("flight_date").min() - dt.timedelta(days=window_days + 1)
    span = wanted.select(pl.date_ranges(start, pl.col("flight_date").max()).alias("flight_date"))
    first_day = span.select(pl.col("flight_date").list.first().alias("_first"))
    flights, rate = f"{name}_flights_{window_days}d", f"{name}_late_rate_{window_days}d"
    running = [
        pl.when(pl.col("flight_date") > pl.col("_first"))
        .then(pl.col(c))
        .otherwise(0)
        .fill_null(0)
        .cum_sum()
        .alias(c)
        for c in ("n", "late")
    ]
    dense = (
        wanted.select(keys)
        .unique()
        .join(span.explode("flight_date"), how="cross")
        .join(per_key, on=[*keys, "flight_date"], how="left")
        .join(first_day, how="cross")
        .sort([*keys, "flight_date"])
        .with_columns(running)
        .with_columns(
            (pl.col("n").shift(1) - pl.col("n").shift(window_days + 1)).alias(flights),
            (pl.col("late").shift(1) - pl.col("late").shift(window_days + 1)).alias("_late"),
        )
    )
    return wanted.join(dense, on=[*keys, "flight_date"], how="left").select(
        [
            *keys,
            "flight_date",
            pl.when(pl.col(flights) > 0).then(pl.col("_late") / pl.col(flights)).alias(rate),
            pl.col(flights).cast(pl.UInt32),
        ]
    )


def rolling_late_rates(
    targets: pl.DataFrame | pl.LazyFrame,
    history: pl.DataFrame | pl.LazyFrame,
    name: str,
    window_days: int = WINDOW_DAYS,
) -> pl.LazyFrame:
    """``<name>_late_rate_<w>d`` and ``<name>_flights_<w>d`` per (key, flight_date) of targets.

    Counts labelled flights of the key on days [D - window_days, D - 1]: never day D itself,
    never a later day. The rate is null where there were none. Daily counts are laid on a dense
    calendar per key, so a window is a fixed number of rows and a shift by one excludes day D.
    """
    return _windowed(targets.lazy(), labelled_daily(history), name, window_days)


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
    base = flights.lazy().select(SCHEDULE_COLUMNS).with_row_index("_row")
    obs = weather.lazy().select(["origin", "observed_hour_utc", *WEATHER_COLUMNS])
    out = base.sort("scheduled_hour_utc").join_asof(
        obs.sort("observed_hour_utc"),
        left_on="scheduled_hour_utc",
        right_on="observed_hour_utc",
        by="origin",
        strategy="backward",
        tolerance=WEATHER_TOLERANCE,
        check_sortedness=False,
    )
    plane = planes.lazy().select(
        "tailnum",
        "manufactured_year",
        pl.col("seats").alias("plane_seats"),
        pl.col("engines").alias("plane_engines"),
    )
    out = out.join(plane, on="tailnum", how="left")
    for name, keys in RATE_KEYS.items():
        rates = rolling_late_rates(base, history, name, window_days)
        out = out.join(rates, on=[*keys, "flight_date"], how="left")
    sched = pl.col("scheduled_departure_at")
    return (
        out.sort("_row")
        .select(
            "flight_id",
            "flight_date",
            pl.col("carrier_code").alias("carrier"),
            "origin",
            "dest",
            (pl.col("origin") + "-" + pl.col("dest")).alias("route"),
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
        )
        .collect(engine="in-memory")  # faster than the streaming default at this size
    )
