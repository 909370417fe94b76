"""flight_features on a tiny frame that reaches the edge cases, value by value.

Cancelled flights, a null and an unknown tailnum, a plane without a year, weather exactly 3 h
and 4 h old, a weather reading with null values. (The pandas twin in benchmarks/ is compared
with this function by the benchmark itself, on the full year, before it times anything.)
"""

import datetime as dt

import polars as pl
import pytest

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


@pytest.fixture(scope="module")
def features() -> dict[str, dict]:
    """flight_features of the tiny frame with a 2-day window, one dict per flight_id."""
    flights = _flights()
    out = flight_features(flights, flights, _weather(), _planes(), window_days=2)
    return {row["flight_id"]: row for row in out.iter_rows(named=True)}


def _pick(features: dict[str, dict], flight_id: str, *columns: str) -> tuple:
    return tuple(features[flight_id][c] for c in columns)


WEATHER_OF = ("weather_age_hours", "temperature_f", "wind_gust_mph", "pressure_mb")


def test_weather_up_to_3_hours_old_is_matched_and_older_is_not(features) -> None:  # noqa: ANN001
    # 08:00 in New York is 13:00 UTC; JFK's last reading before it: 10:00 (3 h), 09:00 (4 h)
    assert _pick(features, "2013-03-02-AA-1-JFK", *WEATHER_OF) == (3.0, 20.0, 24.0, 26.0)
    assert _pick(features, "2013-03-03-AA-1-JFK", *WEATHER_OF) == (None, None, None, None)
    assert _pick(features, "2013-03-01-AA-1-JFK", *WEATHER_OF) == (0.0, 10.0, 14.0, 16.0)


def test_a_reading_with_gaps_is_still_the_match_nulls_and_all(features) -> None:  # noqa: ANN001
    assert _pick(features, "2013-03-05-AA-1-JFK", *WEATHER_OF) == (0.0, 40.0, None, None)


def test_plane_columns_are_null_for_an_unknown_or_missing_tailnum(features) -> None:  # noqa: ANN001
    plane = ("plane_age_years", "plane_seats")
    assert _pick(features, "2013-03-01-AA-1-JFK", *plane) == (8.0, 150.0)  # N1, built 2005
    assert _pick(features, "2013-03-01-B6-2-JFK", *plane) == (None, 200.0)  # N2, no year
    assert _pick(features, "2013-03-03-AA-1-JFK", *plane) == (None, None)  # N3, not in planes
    assert _pick(features, "2013-03-02-B6-4-LGA", *plane) == (None, None)  # null tailnum


def test_rates_count_labelled_flights_of_the_window_before_the_day(features) -> None:  # noqa: ANN001
    rate = ("route_late_rate_2d", "route_flights_2d")
    assert _pick(features, "2013-03-01-AA-1-JFK", *rate) == (None, 0)  # no history yet
    # JFK-LAX on 03-01 and 03-02: late, on time, on time
    assert _pick(features, "2013-03-03-AA-1-JFK", *rate) == (pytest.approx(1 / 3), 3)
    # 03-03 and 03-04: one late flight and one cancelled (no label), which does not count
    assert _pick(features, "2013-03-05-AA-1-JFK", *rate) == (1.0, 1)
    assert features["2013-03-05-AA-3-LGA"]["carrier_flights_2d"] == 2  # AA on 03-03, 03-04
