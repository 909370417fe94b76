"""Flight features for online requests, computed by the line's own feature code.

Per snapshot, ``late_rates`` runs once over every (route, day) and (carrier, day) the snapshot
serves, and ``weather_for`` once over every (origin, hour): the same functions, on every key
a request can name. A request then only looks its rows up and calls ``assemble_features``,
the last step of ``flight_features``; so online rows equal the batch rows of the same flights.

The service's fast path (``rows``, lib/online/fast_path.py) goes one step further: lookups into
``assemble_features`` outputs built once per snapshot, with no Polars query per request.
``features`` (the Polars path) stays: tests hold the two equal, and both equal the batch rows.
"""

import datetime as dt
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import polars as pl

from factory_assets.lib.features.flights import assemble_features, late_rates
from factory_assets.lib.features.weather import weather_for
from factory_assets.lib.online.fast_path import FastPath
from factory_assets.lib.online.request import (
    EPOCH,
    SCHEDULE_SCHEMA,
    InputError,
    ScheduledFlight,
    epoch_hour,
    request_error,
    utc_hour,
)
from factory_assets.lib.online.snapshot import Manifest, read_snapshot


class OnlineFeatures(FastPath):
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
        self._tables()

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
        first = utc_hour(self.days[0], 0, "Etc/GMT-14")
        hours = (len(self.days) + 3) * 24
        self.first_hour = epoch_hour(first)
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
        self.weather_grid = grid
        rows = weather_for(grid, weather)
        self.weather = pl.concat([rows, rows.clear(1)])

    def _assemble(
        self, n: int, given: dict, rates: tuple = (), weather: pl.DataFrame | None = None
    ) -> pl.DataFrame:
        """``assemble_features`` over ``n`` grid rows: ``given`` schedule columns, others null."""
        schedule = pl.DataFrame(
            {c: given.get(c, [None] * n) for c in SCHEDULE_SCHEMA}, schema=SCHEDULE_SCHEMA
        )
        route = rates[0] if rates else self.route[1].clear(n)
        carrier = rates[1] if rates else self.carrier[1].clear(n)
        weather = self.weather.clear(n) if weather is None else weather
        base = pl.concat([schedule, route, carrier, weather], how="horizontal")
        return assemble_features(base, self.planes, self.manifest.window_days)

    def _check(self, flights: Sequence[ScheduledFlight]) -> None:
        """InputError naming each row the snapshot cannot describe."""
        errors, origins = [], self.manifest.origins
        for i, f in enumerate(flights):
            loc = ["body", "flights", i]
            if f.carrier not in self.carriers:
                errors.append(request_error(loc, "carrier", f"unknown carrier {f.carrier!r}"))
            if f.origin not in origins:
                known = ", ".join(origins)
                errors.append(
                    request_error(loc, "origin", f"unknown origin {f.origin!r} ({known})")
                )
            if f.flight_date not in self.day_of:
                errors.append(
                    request_error(
                        loc,
                        "flight_date",
                        f"flight_date {f.flight_date} outside the snapshot's days "
                        f"{self.manifest.first_day} … {self.manifest.last_day} "
                        f"(as of {self.manifest.as_of})",
                    )
                )
        if errors:
            raise InputError(errors)

    def schedule(self, flights: list[ScheduledFlight]) -> pl.DataFrame:
        """The fct_flights schedule columns of the requests, or InputError naming each bad row."""
        self._check(flights)
        dep, hour_utc = [], []
        for f in flights:
            hh, mm = divmod(f.sched_dep_time, 100)
            dep.append(dt.datetime.combine(f.flight_date, dt.time(hh, mm)))
            hour_utc.append(utc_hour(f.flight_date, hh, self.manifest.origins[f.origin]))
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
        """flight_features rows of scheduled flights (from ``schedule``): the Polars path."""
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
