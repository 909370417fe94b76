"""Calendars and the partitions built from them: periods, keys, shifts, open ends."""

import datetime as dt

import dagster as dg
import pytest

from factory_assets.lib.calendar import Calendar
from factory_assets.partitions import partitions_for


@pytest.mark.parametrize(
    ("grain", "start", "moment", "key", "end"),
    [
        ("hourly", dt.datetime(2016, 1, 1), dt.datetime(2016, 1, 2, 5, 59), "2016-01-02-05:00",
         dt.datetime(2016, 1, 2, 6)),
        ("daily", dt.datetime(2013, 1, 1), dt.datetime(2013, 3, 1, 23), "2013-03-01",
         dt.datetime(2013, 3, 2)),
        ("weekly", dt.datetime(2016, 7, 4), dt.date(2016, 7, 17), "2016-07-11",
         dt.datetime(2016, 7, 18)),  # weeks start on start's weekday (a Monday)
        ("monthly", dt.datetime(2001, 1, 1), dt.date(2001, 12, 31), "2001-12-01",
         dt.datetime(2002, 1, 1)),
    ],
)  # fmt: skip
def test_a_moment_falls_in_one_period_keyed_as_dagster_keys_it(  # noqa: PLR0913
    grain: str, start: dt.datetime, moment: dt.datetime, key: str, end: dt.datetime
) -> None:
    calendar = Calendar(grain, start, None)
    period = calendar.period_of(moment)
    assert (period.key, period.end) == (key, end)
    assert calendar.period(key) == period
    assert calendar.shift(calendar.shift(period, -3), 3) == period
    assert key in partitions_for(Calendar(grain, start, end)).get_partition_keys()


def test_a_closed_calendar_has_exactly_its_periods() -> None:
    calendar = Calendar("daily", dt.datetime(2013, 1, 1), dt.datetime(2013, 12, 31))
    keys = partitions_for(calendar).get_partition_keys()
    assert (len(keys), keys[0], keys[-1]) == (365, "2013-01-01", "2013-12-31")
    assert partitions_for(calendar) == dg.DailyPartitionsDefinition(
        start_date="2013-01-01", end_date="2014-01-01"
    )  # the flights' partitions as they were before they came from the spec


def test_an_open_calendar_reaches_the_current_period() -> None:
    today = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    keys = partitions_for(Calendar("monthly", dt.datetime(2020, 1, 1))).get_partition_keys()
    assert keys[-1] == today.strftime("%Y-%m-01")


def test_equal_calendars_share_one_partitions_definition() -> None:
    first = Calendar("weekly", dt.datetime(2016, 7, 4), None, "America/Chicago")
    again = Calendar("weekly", dt.datetime(2016, 7, 4), None, "America/Chicago")
    assert partitions_for(first) is partitions_for(again)


@pytest.mark.parametrize(
    ("grain", "start"),
    [("monthly", dt.datetime(2013, 1, 15)), ("hourly", dt.datetime(2013, 1, 1, 6, 30))],
)
def test_a_start_inside_a_period_is_refused(grain: str, start: dt.datetime) -> None:
    with pytest.raises(ValueError, match=f"does not start a {grain} period"):
        Calendar(grain, start)


@pytest.mark.parametrize(
    ("grain", "keys", "served"),
    [
        ("hourly", ["2016-07-02-10:00"],
         [dt.datetime(2016, 7, 2, 10), dt.datetime(2016, 7, 2, 10, 59)]),
        ("weekly", ["2016-07-04"], [dt.datetime(2016, 7, 4, 8), dt.datetime(2016, 7, 10, 23)]),
    ],
)  # fmt: skip
def test_a_served_row_is_stamped_with_a_value_its_period_replaces(
    grain: str, keys: list[str], served: list[dt.datetime]
) -> None:
    """Re-scoring a period deletes exactly the _partition_date values its rows were stamped with."""
    import polars as pl

    from factory_assets.lib.model_line import ModelLine
    from factory_assets.lib.scoring import partition_stamp, partition_values
    from factory_assets.lib.training.dataset import ModelColumns

    calendar = Calendar(
        grain, dt.datetime(2016, 7, 4) if grain == "weekly" else dt.datetime(2016, 7, 1)
    )
    line = ModelLine(
        name="m",
        features="t",
        columns=ModelColumns("id", "served_at", "y", (), ("x",)),
        calendar=calendar,
    )
    stamps = pl.DataFrame({"served_at": served}).select(partition_stamp(line)).to_series()
    assert set(stamps.to_list()) <= set(partition_values(line, keys))
