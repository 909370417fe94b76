"""The backfill driver's split of days into the ranges its runs take side by side."""

import datetime as dt

import pytest

from tests.production.backfill import ranges

FIRST = dt.date(2013, 1, 1)


@pytest.mark.parametrize(("days", "runs"), [(30, 4), (16, 4), (5, 4), (2, 4), (1, 4), (7, 1)])
def test_the_ranges_cover_every_day_once_in_as_equal_parts_as_can_be(days: int, runs: int) -> None:
    last = FIRST + dt.timedelta(days=days - 1)
    parts = ranges(FIRST, last, runs)
    assert len(parts) == min(days, runs)  # fewer days than runs: a day a run, none empty
    covered = []
    for a, b in parts:
        start, end = dt.date.fromisoformat(a), dt.date.fromisoformat(b)
        assert start <= end
        covered += [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]
    assert covered == [FIRST + dt.timedelta(days=i) for i in range(days)]
    sizes = [(dt.date.fromisoformat(b) - dt.date.fromisoformat(a)).days + 1
             for a, b in parts]  # fmt: skip
    assert max(sizes) - min(sizes) <= 1
