"""flight_features is point-in-time correct: nothing known after departure reaches a flight."""

import datetime as dt

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from factory_assets.lib.features.flights import flight_features, rolling_late_rates
from factory_assets.lib.lake import connect

POST_DEPARTURE = {
    "departure_hhmm": pl.lit(1, pl.Int32),
    "departure_delay_min": pl.lit(999, pl.Int32),
    "arrival_hhmm": pl.lit(2, pl.Int32),
    "arrival_delay_min": pl.lit(999, pl.Int32),
    "air_time_min": pl.lit(1, pl.Int32),
}


@pytest.fixture(scope="module")
def week(built) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:  # noqa: ANN001
    """fct_flights, fct_weather_hourly and dim_planes as dbt built them over the test days."""
    with connect(built[0], read_only=True) as conn:
        return tuple(
            conn.sql(f"select * from {table}").pl()
            for table in ("fct_flights", "fct_weather_hourly", "dim_planes")
        )


def _features_of_day(flights, weather, planes, day: dt.date) -> pl.DataFrame:  # noqa: ANN001
    return flight_features(flights, flights, weather, planes).filter(pl.col("flight_date") == day)


# days of the built test week (2013-01-01 … 01-08) whose outcomes have landed (a day late)
@pytest.mark.parametrize("day", [dt.date(2013, 1, 3), dt.date(2013, 1, 5), dt.date(2013, 1, 7)])
def test_outcomes_and_later_days_do_not_change_a_flights_features(week, day) -> None:  # noqa: ANN001
    flights, weather, planes = week
    expected = _features_of_day(flights, weather, planes, day)
    assert expected.height > 500
    # Overwrite every outcome of the day and later, flip the day's labels, drop later weather.
    tampered = flights.with_columns(
        [
            pl.when(pl.col("flight_date") >= day).then(v).otherwise(pl.col(k)).alias(k)
            for k, v in POST_DEPARTURE.items()
        ]
    ).with_columns(
        pl.when(pl.col("flight_date") >= day)
        .then(~pl.col("is_late"))
        .otherwise("is_late")
        .alias("is_late")
    )
    later = tampered.filter(pl.col("flight_date") > day)
    tampered = pl.concat(
        [tampered.filter(pl.col("flight_date") <= day), later.sample(fraction=0.5, seed=7)]
    )
    scheduled_end = pl.datetime(day.year, day.month, day.day) + pl.duration(hours=30)
    early_weather = weather.filter(pl.col("observed_hour_utc") < scheduled_end)
    assert_frame_equal(_features_of_day(tampered, early_weather, planes, day), expected)


def test_labels_of_the_flights_own_day_are_never_used(week) -> None:  # noqa: ANN001
    flights, weather, planes = week
    day = dt.date(2013, 1, 7)
    hidden = flights.with_columns(
        pl.when(pl.col("flight_date") == day).then(None).otherwise("is_late").alias("is_late")
    )
    assert_frame_equal(
        _features_of_day(hidden, weather, planes, day),
        _features_of_day(flights, weather, planes, day),
    )


def _flights(rows: list[tuple]) -> pl.DataFrame:
    return pl.DataFrame(
        rows,
        schema={
            "flight_date": pl.Date,
            "carrier_code": pl.String,
            "origin": pl.String,
            "dest": pl.String,
            "is_late": pl.Boolean,
        },
        orient="row",
    )


def test_rolling_rate_counts_days_d_minus_window_to_d_minus_one() -> None:
    d = dt.date(2013, 1, 10)
    history = _flights(
        [
            (d - dt.timedelta(days=3), "UA", "EWR", "IAH", True),  # outside a 2-day window
            (d - dt.timedelta(days=2), "UA", "EWR", "IAH", True),
            (d - dt.timedelta(days=1), "UA", "EWR", "IAH", False),
            (d - dt.timedelta(days=1), "UA", "EWR", "IAH", None),  # cancelled: no label
            (d, "UA", "EWR", "IAH", True),  # the flight's own day
            (d + dt.timedelta(days=1), "UA", "EWR", "IAH", True),
        ]
    )
    targets = _flights([(d, "UA", "EWR", "IAH", None), (d, "UA", "JFK", "IAH", None)])
    rates = rolling_late_rates(targets, history, "route", window_days=2)
    assert rates.select("route_late_rate_2d", "route_flights_2d").rows() == [(0.5, 2), (None, 0)]


def test_weather_is_never_from_after_the_scheduled_hour(week) -> None:  # noqa: ANN001
    flights, weather, planes = week
    features = flight_features(flights.head(5000), flights, weather, planes)
    ages = features["weather_age_hours"].drop_nulls()
    assert ages.min() >= 0 and ages.max() <= 3
    assert features["temperature_f"].null_count() < 0.05 * features.height
