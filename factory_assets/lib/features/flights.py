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
    "temperature_f", "dewpoint_f", "humidity_pct", "wind_speed_mph", "wind_gust_mph",
    "precipitation_in", "pressure_mb", "visibility_mi",
]  # fmt: skip
# What a scheduled flight carries before departure; features read nothing else of it.
SCHEDULE_COLUMNS = [
    "flight_id", "flight_date", "carrier_code", "origin", "dest", "tailnum",
    "scheduled_departure_at", "scheduled_hour_utc", "distance_mi",
]  # fmt: skip
HISTORY_COLUMNS = ["flight_date", "carrier_code", "origin", "dest", "is_late"]
RATE_KEYS = {"route": ["origin", "dest"], "carrier": ["carrier_code"]}


def _cumulative_daily(history: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    """Running totals of labelled flights and late flights per key, one row per key and day."""
    return (
        history.filter(pl.col("is_late").is_not_null())
        .group_by([*keys, "flight_date"])
        .agg(pl.len().alias("n"), pl.col("is_late").cast(pl.Int64).sum().alias("late"))
        .sort([*keys, "flight_date"])
        .with_columns(
            pl.col("n").cum_sum().over(keys).alias("cum_n"),
            pl.col("late").cum_sum().over(keys).alias("cum_late"),
        )
        .select([*keys, "flight_date", "cum_n", "cum_late"])
    )


def _totals_through(targets: pl.DataFrame, cum: pl.DataFrame, keys: list[str], on: str, tag: str):
    """Running totals as of the last history day <= targets[on], per key (0 when none)."""
    joined = targets.sort(on).join_asof(
        cum.rename({"flight_date": on}).sort(on), on=on, by=keys, strategy="backward",
        check_sortedness=False,
    )
    return joined.rename({"cum_n": f"n_{tag}", "cum_late": f"late_{tag}"}).with_columns(
        pl.col(f"n_{tag}", f"late_{tag}").fill_null(0)
    )


def rolling_late_rates(
    targets: pl.DataFrame, history: pl.DataFrame, name: str, window_days: int = WINDOW_DAYS
) -> pl.DataFrame:
    """``<name>_late_rate_<w>d`` and ``<name>_flights_<w>d`` per (key, flight_date) of targets.

    Counts labelled flights of the key on days [D - window_days, D - 1]: never day D itself,
    never a later day. The rate is null where there were none.
    """
    keys = RATE_KEYS[name]
    cum = _cumulative_daily(history.select(HISTORY_COLUMNS), keys)
    days = targets.select([*keys, "flight_date"]).unique().with_columns(
        (pl.col("flight_date") - dt.timedelta(days=1)).alias("_end"),
        (pl.col("flight_date") - dt.timedelta(days=window_days + 1)).alias("_start"),
    )
    upto_end = _totals_through(days, cum, keys, "_end", "end")
    upto_start = _totals_through(days, cum, keys, "_start", "start")
    flights, rate = f"{name}_flights_{window_days}d", f"{name}_late_rate_{window_days}d"
    return (
        upto_end.join(upto_start.select([*keys, "flight_date", "n_start", "late_start"]),
                      on=[*keys, "flight_date"])  # fmt: skip
        .with_columns(
            (pl.col("n_end") - pl.col("n_start")).alias(flights),
            (pl.col("late_end") - pl.col("late_start")).alias("_late"),
        )
        .with_columns(
            pl.when(pl.col(flights) > 0).then(pl.col("_late") / pl.col(flights)).alias(rate)
        )
        .select([*keys, "flight_date", rate, flights])
    )


def flight_features(
    flights: pl.DataFrame,
    history: pl.DataFrame,
    weather: pl.DataFrame,
    planes: pl.DataFrame,
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
        flight_id, flight_date, categorical and numeric features, sorted by flight_id.
    """
    base = flights.select(SCHEDULE_COLUMNS)
    obs = weather.select(["origin", "observed_hour_utc", *WEATHER_COLUMNS]).sort(
        "observed_hour_utc"
    )
    with_weather = base.sort("scheduled_hour_utc").join_asof(
        obs, left_on="scheduled_hour_utc", right_on="observed_hour_utc", by="origin",
        strategy="backward", tolerance=WEATHER_TOLERANCE, check_sortedness=False,
    )  # fmt: skip
    plane = planes.select(
        "tailnum", "manufactured_year", pl.col("seats").alias("plane_seats"),
        pl.col("engines").alias("plane_engines"),
    )  # fmt: skip
    out = with_weather.join(plane, on="tailnum", how="left")
    for name in RATE_KEYS:
        rates = rolling_late_rates(base, history, name, window_days)
        out = out.join(rates, on=[*RATE_KEYS[name], "flight_date"], how="left")
    sched = pl.col("scheduled_departure_at")
    return out.select(
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
        ((pl.col("scheduled_hour_utc") - pl.col("observed_hour_utc")).dt.total_minutes() / 60)
        .alias("weather_age_hours"),
        *WEATHER_COLUMNS,
        f"route_late_rate_{window_days}d",
        f"route_flights_{window_days}d",
        f"carrier_late_rate_{window_days}d",
        f"carrier_flights_{window_days}d",
    ).sort("flight_id")
