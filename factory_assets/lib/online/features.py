"""Flight features for online requests, computed by the line's own feature code.

Per snapshot, ``late_rates`` runs once over every (route, day) and (carrier, day) the snapshot
serves, and ``weather_for`` once over every (origin, hour): the same functions, on every key
a request can name. A request then only looks its rows up and calls ``assemble_features``,
the last step of ``flight_features``; so online rows equal the batch rows of the same flights.

The service's fast path (``rows``) goes one step further: ``assemble_features`` itself runs once
per snapshot over grids of what each feature depends on (the local day and hour; the plane and
the year; the origin and the UTC hour; the route or carrier and the day), and a request becomes
a few dict and array lookups into those outputs (a ``FeatureBlock``), with no Polars query.
``features`` (the Polars path) stays: tests hold the two equal, and both equal the batch rows.
"""

import datetime as dt
import functools
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl

from factory_assets.lib.features.flights import (
    SCHEDULE_COLUMNS,
    WEATHER_COLUMNS,
    assemble_features,
    late_rates,
    weather_for,
)
from factory_assets.lib.online.snapshot import Manifest, read_snapshot

EPOCH = dt.date(1970, 1, 1)
UTC = ZoneInfo("UTC")
HOUR = dt.timedelta(hours=1)
NAIVE_EPOCH = dt.datetime(1970, 1, 1)
LABELS = ("carrier", "origin", "dest", "route")  # the string features, straight from the request
SMALL_BATCH = 16  # rows up to which a block is built from tuples; numpy gathers above


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
def _utc_hour(day: dt.date, hour: int, zone: str) -> dt.datetime:
    """The UTC instant of a local hour at the origin, naive, as fct_flights stores it."""
    local = dt.datetime(day.year, day.month, day.day, hour, tzinfo=ZoneInfo(zone))
    return local.astimezone(UTC).replace(tzinfo=None)


def _epoch_hour(stamp: dt.datetime) -> int:
    """Hours since 1970-01-01 00:00 of a naive UTC datetime (whatever the machine's zone)."""
    return (stamp - NAIVE_EPOCH) // HOUR


@functools.lru_cache(maxsize=65_536)
def _utc_epoch_hour(day: dt.date, hour: int, zone: str) -> int:
    """``_utc_hour`` as hours since the epoch: the weather table's clock."""
    return _epoch_hour(_utc_hour(day, hour, zone))


@dataclass(frozen=True)
class Table:
    """Outputs of ``assemble_features`` over one grid: float64 values, 0 where null.

    The last row stands for keys the grid does not hold (what the Polars path gives them).
    """

    columns: tuple[str, ...]
    values: np.ndarray  # float64 [keys + 1, columns]
    valid: np.ndarray  # bool, same shape: False where the feature is null
    rows: list[tuple[float, ...]]  # ``values`` as tuples: joined per row for small batches
    known: list[tuple[bool, ...]]  # ``valid`` as tuples

    @classmethod
    def of(cls, frame: pl.DataFrame, columns: list[str]) -> "Table":
        """The ``columns`` of ``frame`` (numeric), nulls noted in ``valid``."""
        part = frame.select(columns)
        valid = part.select(pl.all().is_not_null())
        values = part.select(pl.all().cast(pl.Float64).fill_null(0.0))
        return cls(
            tuple(columns),
            np.ascontiguousarray(values.to_numpy(), dtype=np.float64),
            np.ascontiguousarray(valid.to_numpy(), dtype=bool),
            values.rows(),
            valid.rows(),
        )

    @property
    def missing(self) -> int:
        """Index of the row for an unknown key."""
        return len(self.values) - 1


@dataclass(frozen=True)
class FeatureBlock:
    """Feature rows of a batch of requests as arrays: what ``features`` gives, without Polars.

    ``values`` and ``valid`` hold the numeric features (``columns``, in the order of the
    ``flight_features`` columns); ``labels`` the string ones. ``frame()`` is the same rows as
    the Polars path's DataFrame (for the shadow log and the tests).
    """

    flight_id: list[str]
    flight_date: list[dt.date]
    labels: dict[str, list[str]]
    columns: tuple[str, ...]
    values: np.ndarray  # float64 [rows, columns], 0 where null
    valid: np.ndarray  # bool [rows, columns]
    schema: pl.Schema  # of the flight_features rows

    @property
    def height(self) -> int:
        """Number of rows."""
        return len(self.flight_id)

    def frame(self) -> pl.DataFrame:
        """The rows as a DataFrame, with the columns and types of ``OnlineFeatures.features``."""
        given: dict[str, list] = {"flight_id": self.flight_id, "flight_date": self.flight_date}
        given |= self.labels
        for j, column in enumerate(self.columns):
            values, valid = self.values[:, j].tolist(), self.valid[:, j].tolist()
            given[column] = [v if ok else None for v, ok in zip(values, valid, strict=True)]
        loose = {c: (pl.Float64 if c in self.columns else t) for c, t in self.schema.items()}
        frame = pl.DataFrame({c: given[c] for c in self.schema}, schema=loose)
        return frame.cast(dict(self.schema))


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
        first = _utc_hour(self.days[0], 0, "Etc/GMT-14")
        hours = (len(self.days) + 3) * 24
        self.first_hour = _epoch_hour(first)
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

    def _tables(self) -> None:
        """The fast path's tables: ``assemble_features`` outputs over every key it can meet.

        Each numeric feature depends on one key: (local day, hour) for the calendar columns,
        (tailnum, year) for the plane's, (origin, UTC hour) for the weather's, (route, day)
        and (carrier, day) for the late rates. Checked at load: the columns are those of
        ``features`` and in its order (``test_fast_path_equals_the_polars_path`` checks values).
        """
        window = self.manifest.window_days
        days = self.days
        # calendar: row offset * 24 + local hour; the extra row is never used
        stamps = [dt.datetime.combine(d, dt.time(h)) for d in days for h in range(24)]
        calendar = self._assemble(
            len(stamps) + 1,
            {
                "flight_date": [s.date() for s in stamps] + [None],
                "scheduled_departure_at": [*stamps, None],
            },
        )
        self.years = sorted({d.year for d in days})
        year_day = {y: min(d for d in days if d.year == y) for y in self.years}
        tails = [*self.planes["tailnum"].to_list(), None]  # None: no plane of that tailnum
        self.plane_stride = len(tails)
        planes = self._assemble(
            len(tails) * len(self.years),
            {
                "tailnum": tails * len(self.years),
                "flight_date": [year_day[y] for y in self.years for _ in tails],
            },
        )
        grid = self.weather_grid
        hours = grid["scheduled_hour_utc"].to_list()
        weather = self._assemble(
            grid.height + 1,
            {"origin": [*grid["origin"].to_list(), None], "scheduled_hour_utc": [*hours, None]},
            weather=self.weather,
        )
        route, carrier = self.route[1], self.carrier[1]
        rates = (
            self._assemble(
                route.height,
                {},
                rates=(route, carrier.clear(route.height)),
            ),
            self._assemble(carrier.height, {}, rates=(route.clear(carrier.height), carrier)),
        )
        self.tables = (
            Table.of(calendar, ["sched_hour", "sched_weekday", "sched_month"]),
            Table.of(planes, ["plane_age_years", "plane_seats", "plane_engines"]),
            Table.of(weather, ["weather_age_hours", *WEATHER_COLUMNS]),
            Table.of(rates[0], [f"route_late_rate_{window}d", f"route_flights_{window}d"]),
            Table.of(rates[1], [f"carrier_late_rate_{window}d", f"carrier_flights_{window}d"]),
        )
        self.schema = calendar.schema
        calendar_columns, *others = (table.columns for table in self.tables)
        columns = (*calendar_columns, "distance_mi", *(c for part in others for c in part))
        expected = ("flight_id", "flight_date", *LABELS, *columns)
        if tuple(self.schema) != expected:
            raise RuntimeError(
                f"assemble_features gives {list(self.schema)}; the online fast path knows "
                f"{list(expected)}: teach lib/online/features.py the new feature"
            )
        self.columns = columns
        # per served day: its offset, its row block in the plane table, its ISO text
        self.day_of = {
            d: (i, self.years.index(d.year) * self.plane_stride, d.isoformat())
            for i, d in enumerate(days)
        }
        # per origin, per (day offset * 24 + local hour): the weather table's row
        no_weather = self.tables[2].missing
        self.weather_at = {}
        for origin, zone in self.manifest.origins.items():
            at = []
            for d in days:
                for h in range(24):
                    slot = _utc_epoch_hour(d, h, zone) - self.first_hour
                    inside = 0 <= slot < self.hours
                    at.append(self.weather_index[origin] + slot if inside else no_weather)
            self.weather_at[origin] = at

    def _check(self, flights: Sequence[ScheduledFlight]) -> None:
        """InputError naming each row the snapshot cannot describe."""
        errors, origins = [], self.manifest.origins
        for i, f in enumerate(flights):
            loc = ["body", "flights", i]
            if f.carrier not in self.carriers:
                errors.append(_error(loc, "carrier", f"unknown carrier {f.carrier!r}"))
            if f.origin not in origins:
                known = ", ".join(origins)
                errors.append(_error(loc, "origin", f"unknown origin {f.origin!r} ({known})"))
            if f.flight_date not in self.day_of:
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
            raise InputError(errors)

    def rows(self, flights: Sequence[ScheduledFlight]) -> FeatureBlock:
        """The fast path: ``features(schedule(flights))`` as a FeatureBlock, by lookups only.

        Args:
            flights: ScheduledFlight rows, or any objects with the same attributes (the API's
                validated ``Flight`` rows are passed as they are).

        Raises:
            InputError: rows the snapshot cannot describe (as ``schedule``).
        """
        self._check(flights)
        routes, carriers = self.tables[3:]
        route_index, carrier_index = self.route[0], self.carrier[0]
        plane_index, day_of, weather_at = self.plane_index, self.day_of, self.weather_at
        no_plane, no_route, no_carrier = self.plane_stride - 1, routes.missing, carriers.missing
        keys, ids = [], []
        for f in flights:
            day, plane_rows, iso = day_of[f.flight_date]
            at = day * 24 + f.sched_dep_time // 100
            keys.append(
                (
                    at,
                    plane_rows + plane_index.get(f.tailnum, no_plane),
                    weather_at[f.origin][at],
                    route_index.get((f.origin, f.dest, day), no_route),
                    carrier_index.get((f.carrier, day), no_carrier),
                )
            )
            ids.append(f"{iso}-{f.carrier}-{f.flight}-{f.origin}")
        distance = [f.distance for f in flights]
        values, valid = (
            self._join(keys, distance) if len(keys) <= SMALL_BATCH else self._gather(keys, distance)
        )
        return FeatureBlock(
            flight_id=ids,
            flight_date=[f.flight_date for f in flights],
            labels={
                "carrier": [f.carrier for f in flights],
                "origin": [f.origin for f in flights],
                "dest": [f.dest for f in flights],
                "route": [f"{f.origin}-{f.dest}" for f in flights],
            },
            columns=self.columns,
            values=values,
            valid=valid,
            schema=self.schema,
        )

    # The columns of a block, in the order of self.columns: calendar, distance (from the
    # request), plane, weather, route and carrier rates. Keys: one row index per table.

    def _join(self, keys: list[tuple], distance: list) -> tuple[np.ndarray, np.ndarray]:
        """Values and validity of a few rows: table rows as tuples, joined, one array each."""
        cal_v, plane_v, weather_v, route_v, carrier_v = (t.rows for t in self.tables)
        cal_k, plane_k, weather_k, route_k, carrier_k = (t.known for t in self.tables)
        values, valid = [], []
        for (at, p, w, r, c), d in zip(keys, distance, strict=True):
            values.append(
                cal_v[at] + (0.0 if d is None else float(d),) + plane_v[p] + weather_v[w]
                + route_v[r] + carrier_v[c]
            )  # fmt: skip
            valid.append(
                cal_k[at] + (d is not None,) + plane_k[p] + weather_k[w] + route_k[r] + carrier_k[c]
            )
        shape = (len(keys), len(self.columns))
        return (
            np.array(values, dtype=np.float64).reshape(shape),
            np.array(valid, dtype=bool).reshape(shape),
        )

    def _gather(self, keys: list[tuple], distance: list) -> tuple[np.ndarray, np.ndarray]:
        """Values and validity of many rows: one numpy gather per table."""
        at = np.array(keys, dtype=np.intp).reshape(len(keys), len(self.tables))
        known = np.array([d is not None for d in distance], dtype=bool)
        miles = np.array([0.0 if d is None else d for d in distance], dtype=np.float64)
        values = [t.values[at[:, i]] for i, t in enumerate(self.tables)]
        valid = [t.valid[at[:, i]] for i, t in enumerate(self.tables)]
        values.insert(1, miles[:, None])
        valid.insert(1, known[:, None])
        return np.concatenate(values, axis=1), np.concatenate(valid, axis=1)

    def schedule(self, flights: list[ScheduledFlight]) -> pl.DataFrame:
        """The fct_flights schedule columns of the requests, or InputError naming each bad row."""
        self._check(flights)
        dep, hour_utc = [], []
        for f in flights:
            hh, mm = divmod(f.sched_dep_time, 100)
            dep.append(dt.datetime.combine(f.flight_date, dt.time(hh, mm)))
            hour_utc.append(_utc_hour(f.flight_date, hh, self.manifest.origins[f.origin]))
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
