"""The flight features of ``lib/features/flights.py`` written as plain, idiomatic pandas.

This is the baseline of ``bench_features_vs_pandas``: what an analyst would write in pandas
for the same features (``merge_asof`` for weather, ``merge`` for planes, a time-based
``rolling("28D", closed="left")`` over daily counts for the late-rates). It must give the same
values as the Polars function: ``bench_features_vs_pandas`` checks that on the full year with
``assert_matches`` and refuses to write a ratio otherwise.
"""

import pandas as pd
import polars as pl
from polars.testing import assert_frame_equal

from factory_assets.lib.features.flights import (
    RATE_KEYS,
    SCHEDULE_COLUMNS,
    WEATHER_COLUMNS,
    WINDOW_DAYS,
)


def late_rates(
    flights: pd.DataFrame, history: pd.DataFrame, name: str, window_days: int = WINDOW_DAYS
) -> pd.DataFrame:
    """Late rate and labelled-flight count per (key, flight_date) over days D-window..D-1."""
    keys = RATE_KEYS[name]
    labelled = history[history["is_late"].notna()].astype({"is_late": bool})
    daily = labelled.groupby([*keys, "flight_date"], as_index=False).agg(
        n=("is_late", "size"), late=("is_late", "sum")
    )
    # Days a flight needs a rate for but with no labelled flight of their own still need a row,
    # or the rolling window would never be evaluated at them.
    targets = flights[[*keys, "flight_date"]].drop_duplicates()
    daily = (
        daily.merge(targets, on=[*keys, "flight_date"], how="outer")
        .fillna({"n": 0, "late": 0})
        .sort_values([*keys, "flight_date"])
    )
    # closed="left": the window is [D - window_days, D), so day D itself never counts.
    rolled = (
        daily.groupby(keys)
        .rolling(f"{window_days}D", on="flight_date", closed="left")[["n", "late"]]
        .sum()
        .reset_index()
        .fillna({"n": 0, "late": 0})
    )
    flights_col, rate_col = f"{name}_flights_{window_days}d", f"{name}_late_rate_{window_days}d"
    rolled[flights_col] = rolled["n"].astype("int64")
    rolled[rate_col] = (rolled["late"] / rolled["n"]).where(rolled["n"] > 0)
    return rolled[[*keys, "flight_date", rate_col, flights_col]]


def flight_features(
    flights: pd.DataFrame,
    history: pd.DataFrame,
    weather: pd.DataFrame,
    planes: pd.DataFrame,
    window_days: int = WINDOW_DAYS,
) -> pd.DataFrame:
    """The pandas twin of ``factory_assets.lib.features.flights.flight_features``.

    Args:
        flights: flights to describe (fct_flights shape).
        history: labelled flights (fct_flights shape).
        weather: fct_weather_hourly rows.
        planes: dim_planes rows.
        window_days: length of the late-rate window, ending the day before the flight.

    Returns:
        The same columns as the Polars function, sorted by flight_id.
    """
    base = flights[SCHEDULE_COLUMNS]
    obs = weather[["origin", "observed_hour_utc", *WEATHER_COLUMNS]]
    out = pd.merge_asof(
        base.sort_values("scheduled_hour_utc"),
        obs.sort_values("observed_hour_utc"),
        left_on="scheduled_hour_utc",
        right_on="observed_hour_utc",
        by="origin",
        direction="backward",
        tolerance=pd.Timedelta(hours=3),
    )
    plane = planes[["tailnum", "manufactured_year", "seats", "engines"]].rename(
        columns={"seats": "plane_seats", "engines": "plane_engines"}
    )
    out = out.merge(plane, on="tailnum", how="left")
    for name, keys in RATE_KEYS.items():
        rates = late_rates(base, history, name, window_days)
        out = out.merge(rates, on=[*keys, "flight_date"], how="left")

    sched = out["scheduled_departure_at"].dt
    features = pd.DataFrame(
        {
            "flight_id": out["flight_id"],
            "flight_date": out["flight_date"],
            "carrier": out["carrier_code"],
            "origin": out["origin"],
            "dest": out["dest"],
            "route": out["origin"] + "-" + out["dest"],
            "sched_hour": sched.hour.astype("int8"),
            "sched_weekday": (sched.dayofweek + 1).astype("int8"),  # ISO: Monday = 1
            "sched_month": sched.month.astype("int8"),
            "distance_mi": out["distance_mi"].astype("float64"),
            "plane_age_years": (out["flight_date"].dt.year - out["manufactured_year"]).astype(
                "float64"
            ),
            "plane_seats": out["plane_seats"].astype("float64"),
            "plane_engines": out["plane_engines"].astype("float64"),
            "weather_age_hours": (out["scheduled_hour_utc"] - out["observed_hour_utc"])
            / pd.Timedelta(hours=1),
            **{column: out[column] for column in WEATHER_COLUMNS},
        }
    )
    for name in RATE_KEYS:
        for column in (f"{name}_late_rate_{window_days}d", f"{name}_flights_{window_days}d"):
            features[column] = out[column]
    return features.sort_values("flight_id", ignore_index=True)


def assert_matches(expected: pl.DataFrame, baseline: pd.DataFrame) -> None:
    """Raise AssertionError unless the pandas output has the Polars output's rows and values.

    Dtypes may differ (pandas has no Int8 with nulls, dates come back as datetimes), so the
    pandas frame is cast to the Polars schema first; a value that cannot be cast raises too.
    """
    if list(baseline.columns) != expected.columns:
        raise AssertionError(f"columns differ: {list(baseline.columns)} != {expected.columns}")
    got = pl.from_pandas(baseline).cast(expected.schema).sort("flight_id")
    assert_frame_equal(got, expected.sort("flight_id"), check_dtypes=False, rel_tol=1e-9)
