"""An online request's flights: their shape, their clock, and the errors of rows that don't fit.

A request names scheduled flights in the upstream shape (local departure time at the origin);
the snapshot's tables are keyed by UTC hours, so the clock helpers turn one into the other.
"""

import datetime as dt
import functools
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import polars as pl

from factory_assets.lib.features.flights import SCHEDULE_COLUMNS

EPOCH = dt.date(1970, 1, 1)
UTC = ZoneInfo("UTC")
HOUR = dt.timedelta(hours=1)
NAIVE_EPOCH = dt.datetime(1970, 1, 1)


class InputError(ValueError):
    """Rows the snapshot cannot describe; ``errors`` are FastAPI-style {loc, msg, type}."""

    def __init__(self, errors: list[dict]) -> None:
        super().__init__("; ".join(e["msg"] for e in errors))
        self.errors = errors


@dataclass(frozen=True)
class ScheduledFlight:
    """One scheduled flight in the upstream shape (fct_flights semantics, raw names)."""

    flight_date: dt.date
    sched_dep_time: int  # local hhmm at the origin
    carrier: str
    flight: int
    origin: str
    dest: str
    distance: float
    tailnum: str | None = None

    @classmethod
    def from_row(cls, row: dict) -> "ScheduledFlight":
        """One flight from a request-shaped dict (``flight_date`` as an ISO string)."""
        return cls(
            dt.date.fromisoformat(row["flight_date"]),
            row["sched_dep_time"],
            row["carrier"],
            row["flight"],
            row["origin"],
            row["dest"],
            row["distance"],
            row.get("tailnum"),
        )


@functools.lru_cache(maxsize=65_536)
def utc_hour(day: dt.date, hour: int, zone: str) -> dt.datetime:
    """The UTC instant of a local hour at the origin, naive, as fct_flights stores it."""
    local = dt.datetime(day.year, day.month, day.day, hour, tzinfo=ZoneInfo(zone))
    return local.astimezone(UTC).replace(tzinfo=None)


def epoch_hour(stamp: dt.datetime) -> int:
    """Hours since 1970-01-01 00:00 of a naive UTC datetime (whatever the machine's zone)."""
    return (stamp - NAIVE_EPOCH) // HOUR


@functools.lru_cache(maxsize=65_536)
def utc_epoch_hour(day: dt.date, hour: int, zone: str) -> int:
    """``utc_hour`` as hours since the epoch: the weather table's clock."""
    return epoch_hour(utc_hour(day, hour, zone))


SCHEDULE_SCHEMA = {
    "flight_id": pl.String,
    "flight_date": pl.Date,
    "carrier_code": pl.String,
    "origin": pl.String,
    "dest": pl.String,
    "tailnum": pl.String,
    "scheduled_departure_at": pl.Datetime("us"),
    "scheduled_hour_utc": pl.Datetime("us"),
    "distance_mi": pl.Float64,
}
assert list(SCHEDULE_SCHEMA) == SCHEDULE_COLUMNS


def request_error(loc: list, name: str, message: str) -> dict:
    """One FastAPI-style error entry for field ``name`` of the row at ``loc``."""
    return {"loc": [*loc, name], "msg": message, "type": "value_error"}
