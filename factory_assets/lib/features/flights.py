"""Flight features known before departure; one function for training, batch and online scoring.

Point in time: a flight on day D sees weather observed at or before its scheduled hour, and
late-rates computed from labelled flights of days D-window … D-1 only. Outcome columns
(departure and arrival times and delays, air time) are never read.

Keys (route, carrier, origin) become integer codes once, by a Categorical cast; rates and
weather are then laid on small (key x day) and (origin x hour) grids, and each flight gathers
its cell: no string join, no sort, no as-of join over the 336k rows of a year.
"""

import numpy as np
import polars as pl

from factory_assets.lib.features.grid import calendar_parts, key_codes, key_ids, running_windows
from factory_assets.lib.features.weather import WEATHER_COLUMNS, observations, weather_rows

WINDOW_DAYS = 28
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
    codes = key_codes(dict.fromkeys(columns, frames)) if targets.height else {}
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
        cells, size = key_ids(codes, RATE_KEYS[name])
        cells *= n_days  # a row's (key, day) cell: key * n_days + day
        cells[:n] += t_day
        if not same:
            cells[n:] += h_day
        h_slot = (cells if same else cells[n:]) * 3
        h_slot += slot
        counts = np.bincount(h_slot, minlength=size * n_days * 3).reshape(size, n_days, 3)
        rate, count = running_windows(counts, window_days)
        windows = pl.DataFrame(
            {
                f"{name}_late_rate_{window_days}d": pl.Series(rate.ravel(), nan_to_null=True),
                f"{name}_flights_{window_days}d": count.ravel().astype(np.uint32),
            }
        )
        out.append(windows[cells[:n]])
    return pl.concat(out, how="horizontal")


def rolling_late_rates(
    targets: pl.DataFrame, history: pl.DataFrame, name: str, window_days: int = WINDOW_DAYS
) -> pl.DataFrame:
    """The late rate and count of one key (``route`` or ``carrier``); see ``late_rates``."""
    return late_rates(targets, history, [name], window_days)


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
    obs = observations(weather.lazy().collect(engine="in-memory"))
    frames = [flights] if history is flights else [flights, history]
    codes, origin = {}, None
    if flights.height:  # origin is coded once, for the late rates and the weather
        codes = key_codes({"carrier_code": frames, "dest": frames, "origin": [*frames, obs]})
        origin = codes["origin"]
        rows = origin.size - obs.height  # the flights', then the history's if apart
        codes["origin"] = origin[:rows]
        origin = np.concatenate([origin[: flights.height], origin[rows:]])
    rates = _late_rates(flights, history, codes, list(RATE_KEYS), window_days)
    base = pl.concat([flights.select(SCHEDULE_COLUMNS), rates], how="horizontal")
    base = pl.concat([base, weather_rows(base, obs, origin)], how="horizontal")
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
    hour, weekday, month, year = calendar_parts(base)
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
