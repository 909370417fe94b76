"""The contracts of the NYC flights landing sources (what upstream promises to deliver)."""

import polars as pl

from factory_assets.lib.ingest import SourceSchema

I32, F64, STR, TS = pl.Int32(), pl.Float64(), pl.String(), pl.Datetime("us")

FLIGHTS = SourceSchema(
    name="flights",
    columns={
        "year": I32,
        "month": I32,
        "day": I32,
        "sched_dep_time": I32,
        "sched_arr_time": I32,
        "carrier": STR,
        "flight": I32,
        "tailnum": STR,
        "origin": STR,
        "dest": STR,
        "distance": I32,
        "hour": I32,
        "minute": I32,
        "time_hour": TS,
    },
    primary_key=("year", "month", "day", "carrier", "flight", "origin"),
    required=(
        "year",
        "month",
        "day",
        "sched_dep_time",
        "sched_arr_time",
        "carrier",
        "flight",
        "origin",
        "dest",
        "distance",
        "hour",
        "minute",
        "time_hour",
    ),
    ranges={
        "month": (1, 12),
        "day": (1, 31),
        "hour": (0, 23),
        "minute": (0, 59),
        "sched_dep_time": (0, 2359),
        "sched_arr_time": (0, 2400),
        "distance": (1, 10_000),
    },
    date_columns=("year", "month", "day"),
    min_rows=1,  # a day without a single flight from NYC is a broken export, not a quiet day
)

OUTCOMES = SourceSchema(
    name="outcomes",
    columns={
        "year": I32,
        "month": I32,
        "day": I32,
        "carrier": STR,
        "flight": I32,
        "origin": STR,
        "dep_time": I32,
        "dep_delay": I32,
        "arr_time": I32,
        "arr_delay": I32,
        "air_time": I32,
    },
    primary_key=("year", "month", "day", "carrier", "flight", "origin"),
    required=("year", "month", "day", "carrier", "flight", "origin"),
    ranges={"dep_time": (0, 2400), "arr_time": (0, 2400), "air_time": (0, 1000)},
    date_columns=("year", "month", "day"),
    lag_days=1,  # delivered the day after the flights it describes
)

WEATHER = SourceSchema(
    name="weather",
    columns={
        "origin": STR,
        "year": I32,
        "month": I32,
        "day": I32,
        "hour": I32,
        "temp": F64,
        "dewp": F64,
        "humid": F64,
        "wind_dir": I32,
        "wind_speed": F64,
        "wind_gust": F64,
        "precip": F64,
        "pressure": F64,
        "visib": F64,
        "time_hour": TS,
    },
    primary_key=("origin", "time_hour"),
    required=("origin", "year", "month", "day", "hour", "time_hour"),
    ranges={"month": (1, 12), "day": (1, 31), "hour": (0, 23), "humid": (0, 100)},
    date_columns=("year", "month", "day"),
)

PLANES = SourceSchema(
    name="planes",
    columns={
        "tailnum": STR,
        "year": I32,
        "type": STR,
        "manufacturer": STR,
        "model": STR,
        "engines": I32,
        "seats": I32,
        "speed": I32,
        "engine": STR,
    },
    primary_key=("tailnum",),
    required=("tailnum",),
    ranges={"engines": (0, 8), "seats": (1, 1000)},
    min_rows=1,
)

AIRPORTS = SourceSchema(
    name="airports",
    columns={
        "faa": STR,
        "name": STR,
        "lat": F64,
        "lon": F64,
        "alt": I32,
        "tz": F64,
        "dst": STR,
        "tzone": STR,
    },
    primary_key=("faa",),
    required=("faa", "name"),
    ranges={"lat": (-90, 90), "lon": (-180, 180)},
    min_rows=1,
)

AIRLINES = SourceSchema(
    name="airlines",
    columns={"carrier": STR, "name": STR},
    primary_key=("carrier",),
    required=("carrier", "name"),
    min_rows=1,
)
