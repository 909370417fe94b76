"""Flight features for online requests, computed by the line's own feature code.

Per snapshot, ``late_rates`` runs once over every (route, day) and (carrier, day) the snapshot
serves, and ``weather_for`` once over every (origin, hour): the same functions, on every key
a request can name. A request then only looks its rows up and calls ``assemble_features``,
the last step of ``flight_features``; so online rows equal the batch rows of the same flights.
"""

import datetime as dt
import functools
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl

from factory_assets.lib.features.flights import (
    SCHEDULE_COLUMNS,
    assemble_features,
    late_rates,
    weather_for,
)
from factory_assets.lib.online.snapshot import Manifest, read_snapshot

EPOCH = dt.date(1970, 1, 1)
UTC = ZoneInfo("UTC")


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


@functools.lru_cache(maxsize=65_536)
def _utc_hour(day: dt.date, hour: int, zone: str) -> dt.datetime:
    """The UTC instant of a local hour at the origin, naive, as fct_flights stores it."""
    local = dt.datetime(day.year, day.month, day.day, hour, tzinfo=ZoneInfo(zone))
    return local.astimezone(UTC).replace(tzinfo=None)


class OnlineFeatures:
    """Lookup tables of one snapshot and the feature rows of a batch of requests."""

    def __init__(self, directory: Path) -> None:
        manifest, frames = read_snapshot(directory)
        self.manifest: Manifest = manifest
        self.directory = Path(directory)
        self.planes = frames["planes"].unique("tailnum", keep="first", maintain_order=True)
        self.plane_index = {t: i for i, t in enumerate(self.planes["tailnum"]) if t is not None}
        self.days = manifest.days()
        self.first = (self.days[0] - EPOCH).days
        self.carriers = frozenset(manifest.carriers)
        history, window = frames["history"], manifest.window_days
        day = pl.DataFrame({"flight_date": self.days})
        routes = history.select("origin", "dest").unique().join(day, how="cross")
        self.route = self._rates(routes, history, "route", ["origin", "dest"], window)
        carriers = pl.DataFrame({"carrier_code": manifest.carriers}).join(day, how="cross")
        self.carrier = self._rates(carriers, history, "carrier", ["carrier_code"], window)
        self._weather(frames["weather"])

    def _rates(
        self, grid: pl.DataFrame, history: pl.DataFrame, name: str, keys: list[str], window: int
    ) -> tuple[dict, pl.DataFrame]:
        """Index of (key..., day offset) -> row of the rates that ``late_rates`` gives the grid."""
        rates = late_rates(grid, history, [name], window)
        offsets = [(d - EPOCH).days - self.first for d in grid["flight_date"]]
        index = {
            (*k, d): i
            for i, (k, d) in enumerate(zip(grid.select(keys).rows(), offsets, strict=True))
        }
        # a key the window never saw: no flights, no rate (what late_rates gives it too)
        missing = rates.clear(1).with_columns(pl.col(f"{name}_flights_{window}d").fill_null(0))
        return index, pl.concat([rates, missing])

    def _weather(self, weather: pl.DataFrame) -> None:
        """Each origin's weather row for every UTC hour the served days can ask for."""
        first = _utc_hour(self.days[0], 0, "Etc/GMT-14")
        hours = (len(self.days) + 3) * 24
        self.first_hour = int(first.timestamp() // 3600)
        stamps = [first + dt.timedelta(hours=h) for h in range(hours)]
        origins = list(self.manifest.origins)
        grid = pl.DataFrame(
            {
                "origin": [o for o in origins for _ in stamps],
                "scheduled_hour_utc": stamps * len(origins),
            },
            schema={"origin": pl.String, "scheduled_hour_utc": pl.Datetime("us")},
        )
        self.weather_index = {o: i * hours for i, o in enumerate(origins)}
        self.hours = hours
        rows = weather_for(grid, weather)
        self.weather = pl.concat([rows, rows.clear(1)])

    def schedule(self, flights: list[ScheduledFlight]) -> pl.DataFrame:
        """The fct_flights schedule columns of the requests, or InputError naming each bad row."""
        errors, dep, hour_utc = [], [], []
        for i, f in enumerate(flights):
            loc = ["body", "flights", i]
            if f.carrier not in self.carriers:
                errors.append(_error(loc, "carrier", f"unknown carrier {f.carrier!r}"))
            if f.origin not in self.manifest.origins:
                known = ", ".join(self.manifest.origins)
                errors.append(_error(loc, "origin", f"unknown origin {f.origin!r} ({known})"))
            offset = (f.flight_date - EPOCH).days - self.first
            if not 0 <= offset < len(self.days):
                errors.append(
                    _error(
                        loc,
                        "flight_date",
                        f"flight_date {f.flight_date} outside the snapshot's days "
                        f"{self.manifest.first_day} … {self.manifest.last_day} "
                        f"(as of {self.manifest.as_of})",
                    )
                )
            if errors:
                continue
            hh, mm = divmod(f.sched_dep_time, 100)
            dep.append(dt.datetime.combine(f.flight_date, dt.time(hh, mm)))
            hour_utc.append(_utc_hour(f.flight_date, hh, self.manifest.origins[f.origin]))
        if errors:
            raise InputError(errors)
        return pl.DataFrame(
            {
                "flight_id": [
                    f"{f.flight_date}-{f.carrier}-{f.flight}-{f.origin}" for f in flights
                ],
                "flight_date": [f.flight_date for f in flights],
                "carrier_code": [f.carrier for f in flights],
                "origin": [f.origin for f in flights],
                "dest": [f.dest for f in flights],
                "tailnum": [f.tailnum for f in flights],
                "scheduled_departure_at": dep,
                "scheduled_hour_utc": hour_utc,
                "distance_mi": [f.distance for f in flights],
            },
            schema=SCHEDULE_SCHEMA,
        )

    def features(self, schedule: pl.DataFrame) -> pl.DataFrame:
        """flight_features rows of scheduled flights (from ``schedule``)."""
        offsets = [(d - EPOCH).days - self.first for d in schedule["flight_date"]]
        route_index, route_rates = self.route
        carrier_index, carrier_rates = self.carrier
        missing = route_rates.height - 1
        keys = zip(schedule["origin"], schedule["dest"], offsets, strict=True)
        route_rows = [route_index.get(k, missing) for k in keys]
        keys = zip(schedule["carrier_code"], offsets, strict=True)
        carrier_rows = [carrier_index.get(k, carrier_rates.height - 1) for k in keys]
        hours = schedule["scheduled_hour_utc"].dt.epoch("s").to_numpy() // 3600 - self.first_hour
        base = np.array([self.weather_index[o] for o in schedule["origin"]], dtype=np.int64)
        weather_rows = np.where((hours >= 0) & (hours < self.hours), base + hours, -1)
        base = pl.concat(
            [
                schedule,
                route_rates[route_rows],
                carrier_rates[carrier_rows],
                self.weather[weather_rows],  # -1: the trailing all-null row
            ],
            how="horizontal",
        )
        # only the request's planes: the join then costs nothing, and gives the same rows
        tails = {self.plane_index.get(t) for t in schedule["tailnum"]} - {None}
        planes = self.planes[sorted(tails)]
        return assemble_features(base, planes, self.manifest.window_days)


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


def _error(loc: list, name: str, message: str) -> dict:
    return {"loc": [*loc, name], "msg": message, "type": "value_error"}
