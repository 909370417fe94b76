"""Calendars: the periods a source lands and a model is scored and monitored by.

A source spec declares its grain (``hourly``, ``daily``, ``weekly``, ``monthly``), its first
period and optionally its last; the Dagster partitions of its raw asset, of the warehouse and
of every model over it are built from that (factory_assets/partitions.py). A period is the
half-open span [start, end) of local times in the calendar's time zone; its key is Dagster's
partition key for it (``2013-01-05``, or ``2013-01-05-14:00`` for an hour).
"""

import datetime as dt
from dataclasses import dataclass

GRAINS = ("hourly", "daily", "weekly", "monthly")
KEY_FORMATS = {
    "hourly": "%Y-%m-%d-%H:%M",  # Dagster's HourlyPartitionsDefinition keys
    "daily": "%Y-%m-%d",
    "weekly": "%Y-%m-%d",
    "monthly": "%Y-%m-%d",
}


@dataclass(frozen=True, order=True)
class Period:
    """One period [start, end) in local time; ``key`` is its partition key."""

    start: dt.datetime
    end: dt.datetime
    key: str

    @property
    def first_day(self) -> dt.date:
        """The first calendar day the period touches."""
        return self.start.date()

    @property
    def last_day(self) -> dt.date:
        """The last calendar day the period touches (inclusive)."""
        return (self.end - dt.timedelta(microseconds=1)).date()


@dataclass(frozen=True)
class Calendar:
    """A source's periods: grain, first period's start, optional last period, time zone.

    Attributes:
        grain: one of GRAINS.
        start: the first period's start (a weekly calendar's weeks start on its weekday; a
            monthly one's start is a month's first day).
        end: the last period's start (inclusive), or None: open-ended, up to the current period.
        timezone: the IANA zone periods begin and end in.

    """

    grain: str
    start: dt.datetime
    end: dt.datetime | None = None
    timezone: str = "UTC"

    def __post_init__(self) -> None:
        if self.grain not in GRAINS:
            raise ValueError(f"grain {self.grain!r}; allowed: {', '.join(GRAINS)}")
        if self.period_of(self.start).start != self.start:
            raise ValueError(f"{self.start} does not start a {self.grain} period")
        if self.end is not None and self.end < self.start:
            raise ValueError(f"the last period {self.end} is before the first {self.start}")

    @property
    def key_format(self) -> str:
        """Strftime format of the partition keys."""
        return KEY_FORMATS[self.grain]

    def step(self, moment: dt.datetime, n: int = 1) -> dt.datetime:
        """``moment`` moved by ``n`` periods (a month keeps its day-of-month: the first)."""
        if self.grain == "hourly":
            return moment + dt.timedelta(hours=n)
        if self.grain == "daily":
            return moment + dt.timedelta(days=n)
        if self.grain == "weekly":
            return moment + dt.timedelta(weeks=n)
        months = moment.year * 12 + moment.month - 1 + n
        return moment.replace(year=months // 12, month=months % 12 + 1)

    def period_of(self, moment: dt.datetime | dt.date) -> Period:
        """The period holding ``moment`` (a date means its midnight)."""
        if not isinstance(moment, dt.datetime):
            moment = dt.datetime.combine(moment, dt.time())
        if self.grain == "hourly":
            start = moment.replace(minute=0, second=0, microsecond=0)
        elif self.grain == "monthly":
            start = dt.datetime(moment.year, moment.month, 1)
        else:
            start = dt.datetime.combine(moment.date(), dt.time())
            if self.grain == "weekly":
                offset = (start.date() - self.start.date()).days % 7
                start -= dt.timedelta(days=offset)
        return Period(start, self.step(start), start.strftime(self.key_format))

    def period(self, key: str) -> Period:
        """The period of a partition key (ValueError if it names none of this calendar)."""
        start = dt.datetime.strptime(key, self.key_format)
        period = self.period_of(start)
        if period.start != start:
            raise ValueError(f"{key!r} is not the start of a {self.grain} period")
        return period

    def shift(self, period: Period, n: int) -> Period:
        """The period ``n`` periods after (negative: before) ``period``."""
        return self.period_of(self.step(period.start, n))

    def between(self, first: Period, last: Period) -> list[Period]:
        """Every period from ``first`` to ``last``, both included."""
        out, current = [], first
        while current.start <= last.start:
            out.append(current)
            current = self.shift(current, 1)
        return out

    @property
    def first(self) -> Period:
        """The calendar's first period."""
        return self.period_of(self.start)

    @property
    def last(self) -> Period | None:
        """The calendar's last period, or None when it is open-ended."""
        return None if self.end is None else self.period_of(self.end)


def parse_moment(text: str) -> dt.datetime:
    """An ISO date (``2013-01-01``) or date and time (``2013-01-01T06:00``) as a naive datetime."""
    value = dt.datetime.fromisoformat(text)
    return value.replace(tzinfo=None) if value.tzinfo else value
