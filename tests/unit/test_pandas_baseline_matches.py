"""The pandas baseline of the features benchmark gives exactly the Polars features.

The benchmark refuses to report a ratio when the two disagree on the full year; this checks the
same on a tiny frame that reaches the edge cases (cancelled flights, a null and an unknown
tailnum, a plane without a year, weather exactly 3 h and 4 h old, null weather values).
"""

import datetime as dt

import polars as pl
import pytest

from benchmarks.pandas_features import assert_matches
from benchmarks.pandas_features import flight_features as pandas_flight_features
from factory_assets.lib.features.flights import WEATHER_COLUMNS, flight_features

UTC_OFFSET = dt.timedelta(hours=5)  # New York in early March 2013, before DST
# (day of March, carrier, flight number, origin, dest, tailnum, hour, minute, is_late)
FLIGHTS = [
    (1, "AA", 1, "JFK", "LAX", "N1", 8, 0, True),
    (1, "B6", 2, "JFK", "LAX", "N2", 9, 30, False),
    (1, "AA", 3, "LGA", "ORD", "N1", 13, 15, None),
    (2, "AA", 1, "JFK", "LAX", "N1", 8, 0, False),
    (2, "B6", 4, "LGA", "ORD", None, 17, 45, True),
    (3, "AA", 1, "JFK", "LAX", "N3", 8, 0, True),
    (3, "B6", 2, "JFK", "LAX", "N2", 9, 30, None),
    (3, "AA", 3, "LGA", "ORD", "N1", 13, 15, False),
    (4, "B6", 4, "LGA", "ORD", "N2", 17, 45, False),
    (5, "AA", 1, "JFK", "LAX", "N1", 8, 0, None),
    (5, "B6", 2, "JFK", "LAX", "N2", 23, 59, True),
    (5, "AA", 3, "LGA", "ORD", "N1", 0, 5, False),
]
# (origin, observed UTC day of March, hour); values derive from the row number
WEATHER = [
    ("JFK", 1, 12),
    ("JFK", 1, 13),
    ("JFK", 2, 10),
    ("JFK", 3, 9),
    ("JFK", 5, 13),
    ("JFK", 6, 4),
    ("LGA", 1, 18),
    ("LGA", 1, 19),
    ("LGA", 2, 22),
    ("LGA", 4, 21),
]


def _flights() -> pl.DataFrame:
    rows = []
    for day, carrier, number, origin, dest, tailnum, hour, minute, is_late in FLIGHTS:
        date = dt.date(2013, 3, day)
        local = dt.datetime(2013, 3, day, hour, minute)
        rows.append(
            {
                "flight_id": f"{date}-{carrier}-{number}-{origin}",
                "flight_date": date,
                "carrier_code": carrier,
                "origin": origin,
                "dest": dest,
                "tailnum": tailnum,
                "scheduled_departure_at": local,
                "scheduled_hour_utc": local.replace(minute=0) + UTC_OFFSET,
                "distance_mi": 2475 if dest == "LAX" else 733,
                "is_late": is_late,
            }
        )
    return pl.DataFrame(rows).with_columns(pl.col("distance_mi").cast(pl.Int32))


def _weather() -> pl.DataFrame:
    rows = [
        {"origin": origin, "observed_hour_utc": dt.datetime(2013, 3, day, hour)}
        | {name: float(i * 10 + j) for j, name in enumerate(WEATHER_COLUMNS)}
        for i, (origin, day, hour) in enumerate(WEATHER)
    ]
    weather = pl.DataFrame(rows)
    # A reading with gaps: the as-of match must still take this row, nulls and all.
    gap = (pl.col("origin") == "JFK") & (pl.col("observed_hour_utc").dt.day() == 5)
    return weather.with_columns(
        pl.when(~gap).then(pl.col(c)).alias(c) for c in ("wind_gust_mph", "pressure_mb")
    )


def _planes() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "tailnum": ["N1", "N2"],
            "manufactured_year": [2005, None],
            "seats": [150, 200],
            "engines": [2, 2],
        },
        schema_overrides={"manufactured_year": pl.Int32, "seats": pl.Int32, "engines": pl.Int32},
    )


@pytest.mark.parametrize("window_days", [1, 2, 28])
def test_pandas_baseline_equals_polars(window_days: int) -> None:
    flights, weather, planes = _flights(), _weather(), _planes()
    expected = flight_features(flights, flights, weather, planes, window_days)
    pd_flights = flights.to_pandas()
    got = pandas_flight_features(
        pd_flights, pd_flights, weather.to_pandas(), planes.to_pandas(), window_days
    )
    assert_matches(expected, got)


def test_history_of_other_flights_is_used_the_same_way() -> None:
    flights, weather, planes = _flights(), _weather(), _planes()
    history = flights.filter(pl.col("flight_date") < dt.date(2013, 3, 4))
    expected = flight_features(flights, history, weather, planes)
    got = pandas_flight_features(
        flights.to_pandas(), history.to_pandas(), weather.to_pandas(), planes.to_pandas()
    )
    assert_matches(expected, got)


def test_a_differing_value_is_caught() -> None:
    flights, weather, planes = _flights(), _weather(), _planes()
    expected = flight_features(flights, flights, weather, planes)
    got = pandas_flight_features(
        flights.to_pandas(), flights.to_pandas(), weather.to_pandas(), planes.to_pandas()
    )
    got.loc[got.index[-1], "route_flights_28d"] += 1
    with pytest.raises(AssertionError):
        assert_matches(expected, got)
