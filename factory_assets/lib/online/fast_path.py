"""The service's fast path of ``OnlineFeatures``: a request's features by lookups only.

``assemble_features`` runs once per snapshot over grids of what each feature depends on (the
local day and hour; the plane and the year; the origin and the UTC hour; the route or carrier
and the day), and a request becomes a few dict and array lookups into those outputs (a
``FeatureBlock``), with no Polars query. ``FastPath`` is a part of ``OnlineFeatures``: it reads
the lookups that class builds (days, planes, rates, weather grid) and its ``_assemble``.
"""

import datetime as dt
from collections.abc import Sequence

import numpy as np

from factory_assets.lib.features.weather import WEATHER_COLUMNS
from factory_assets.lib.online.blocks import FeatureBlock, Table
from factory_assets.lib.online.request import ScheduledFlight, utc_epoch_hour

LABELS = ("carrier", "origin", "dest", "route")  # the string features, straight from the request
SMALL_BATCH = 16  # rows up to which a block is built from tuples; numpy gathers above


class FastPath:
    """Lookup tables over every key a request can meet, and ``rows`` that reads them."""

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
                f"{list(expected)}: teach lib/online/fast_path.py the new feature"
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
                    slot = utc_epoch_hour(d, h, zone) - self.first_hour
                    inside = 0 <= slot < self.hours
                    at.append(self.weather_index[origin] + slot if inside else no_weather)
            self.weather_at[origin] = at

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
            ids=ids,
            dates=[f.flight_date for f in flights],
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
            index=("flight_id", "flight_date"),
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
