"""Partitions built from the calendars the source specs declare (lib/calendar.py), or batches.

A source's raw asset, and every model over its dataset, is partitioned by its calendar; equal
calendars give one partitions definition. An open-ended calendar reaches the current period.
"""

import functools

import dagster as dg

from factory_assets.lib.calendar import Calendar

_KINDS = {
    "hourly": dg.HourlyPartitionsDefinition,
    "daily": dg.DailyPartitionsDefinition,
    "weekly": dg.WeeklyPartitionsDefinition,
    "monthly": dg.MonthlyPartitionsDefinition,
}


@functools.cache
def partitions_for(calendar: Calendar) -> dg.TimeWindowPartitionsDefinition:
    """The time-window partitions of ``calendar``: one per period, keyed as Calendar.key."""
    fmt = calendar.key_format
    args: dict = {"start_date": calendar.start.strftime(fmt), "timezone": calendar.timezone}
    if calendar.end is None:
        args["end_offset"] = 1  # the current period lands during it
    else:
        args["end_date"] = calendar.step(calendar.end).strftime(fmt)  # exclusive
    if calendar.grain == "weekly":
        args["day_offset"] = (calendar.start.weekday() + 1) % 7  # Dagster: 0 is Sunday
    return _KINDS[calendar.grain](**args)


@functools.cache
def batches_for(dataset: str) -> dg.DynamicPartitionsDefinition:
    """The dynamic partitions of a batched dataset: one per landed batch, added by its sensor.

    One definition per dataset (``<dataset>_batches``), shared by its raw assets and by the
    scoring and monitoring of every model over it.
    """
    return dg.DynamicPartitionsDefinition(name=f"{dataset}_batches")
