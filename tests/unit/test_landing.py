"""The landing zone: a file per day per daily source, reference snapshots, nothing half-written."""

import datetime as dt
from pathlib import Path

import polars as pl

from factory_assets.examples.nycflights import daily_file, lay_out_landing, reference_file


def test_every_day_has_a_file_with_only_that_days_rows(landing_root: Path) -> None:
    landing = landing_root / "landing"
    for offset in range(8):
        day = dt.date(2013, 1, 1) + dt.timedelta(days=offset)
        for source in ("flights", "weather"):
            frame = pl.read_csv(daily_file(landing, source, day), infer_schema=False)
            assert frame.height > 0
            assert frame.select("year", "month", "day").unique().rows() == [
                (str(day.year), str(day.month), str(day.day))
            ]
    for source in ("planes", "airports", "airlines"):
        assert reference_file(landing, source).stat().st_size > 100
    assert not list(landing.rglob(".*.tmp"))


def test_a_day_without_weather_lands_as_a_header_only_file(tmp_path: Path) -> None:
    last = dt.date(2013, 12, 31)  # the package's weather stops on 2013-12-30
    counts = lay_out_landing(tmp_path, last, last)
    assert counts["weather"] == 1
    lines = daily_file(tmp_path, "weather", last).read_text().splitlines()
    assert len(lines) == 1 and lines[0].startswith("origin,year,month,day,hour")
    assert len(daily_file(tmp_path, "flights", last).read_text().splitlines()) > 700


def test_outcomes_land_a_day_after_their_flights_and_apart_from_the_schedule(
    landing_root: Path,
) -> None:
    landing = landing_root / "landing"
    first = pl.read_csv(daily_file(landing, "outcomes", dt.date(2013, 1, 1)), infer_schema=False)
    assert first.height == 0  # nothing flew the day before the first day
    schedule = pl.read_csv(daily_file(landing, "flights", dt.date(2013, 1, 4)), infer_schema=False)
    outcomes = pl.read_csv(daily_file(landing, "outcomes", dt.date(2013, 1, 5)), infer_schema=False)
    assert not {"dep_time", "dep_delay", "arr_time", "arr_delay", "air_time"} & set(
        schedule.columns
    )
    assert outcomes.select("year", "month", "day").unique().rows() == [("2013", "1", "4")]
    key = ["carrier", "flight", "origin"]
    assert outcomes.select(key).sort(key).equals(schedule.select(key).sort(key))
