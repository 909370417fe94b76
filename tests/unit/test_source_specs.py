"""Landing source specs read from YAML: the shipped contracts, paths, and every broken rule."""

import copy
import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from factory_assets.lib.ingest import validate
from factory_assets.lib.sources import datasets
from factory_assets.lib.specs.errors import SpecError, at_file, validated
from factory_assets.lib.specs.source import SourceSpec
from factory_assets.specs import source_spec

I32, F64, STR, TS = pl.Int32(), pl.Float64(), pl.String(), pl.Datetime("us")
FLIGHT_KEY = ("year", "month", "day", "carrier", "flight", "origin")
YMD = ("year", "month", "day")


def parse_spec(attributes: dict, file: Path) -> SourceSpec:
    """The spec of ``attributes`` read from ``file``, or SpecError naming file and field."""
    return validated(SourceSpec, attributes, at_file(file)).located(str(file))


# The contracts as they were written in Python before they moved to YAML.
EXPECTED = {
    "flights": {
        "columns": {
            **dict.fromkeys(YMD, I32),
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
        "primary_key": FLIGHT_KEY,
        "required": (*YMD, "sched_dep_time", "sched_arr_time", "carrier", "flight", "origin")
        + ("dest", "distance", "hour", "minute", "time_hour"),
        "ranges": {
            "month": (1, 12),
            "day": (1, 31),
            "hour": (0, 23),
            "minute": (0, 59),
            "sched_dep_time": (0, 2359),
            "sched_arr_time": (0, 2400),
            "distance": (1, 10_000),
        },
        "date_columns": YMD,
        "min_rows": 1,
        "lag_days": 0,
    },
    "outcomes": {
        "columns": {
            **dict.fromkeys(YMD, I32),
            "carrier": STR,
            "flight": I32,
            "origin": STR,
            **dict.fromkeys(["dep_time", "dep_delay", "arr_time", "arr_delay", "air_time"], I32),
        },
        "primary_key": FLIGHT_KEY,
        "required": FLIGHT_KEY,
        "ranges": {"dep_time": (0, 2400), "arr_time": (0, 2400), "air_time": (0, 1000)},
        "date_columns": YMD,
        "min_rows": 0,
        "lag_days": 1,
    },
    "weather": {
        "columns": {
            "origin": STR,
            **dict.fromkeys([*YMD, "hour"], I32),
            **dict.fromkeys(["temp", "dewp", "humid"], F64),
            "wind_dir": I32,
            **dict.fromkeys(["wind_speed", "wind_gust", "precip", "pressure", "visib"], F64),
            "time_hour": TS,
        },
        "primary_key": ("origin", "time_hour"),
        "required": ("origin", *YMD, "hour", "time_hour"),
        "ranges": {"month": (1, 12), "day": (1, 31), "hour": (0, 23), "humid": (0, 100)},
        "date_columns": YMD,
        "min_rows": 0,
        "lag_days": 0,
    },
    "planes": {
        "columns": {
            "tailnum": STR,
            "year": I32,
            **dict.fromkeys(["type", "manufacturer", "model"], STR),
            **dict.fromkeys(["engines", "seats", "speed"], I32),
            "engine": STR,
        },
        "primary_key": ("tailnum",),
        "required": ("tailnum",),
        "ranges": {"engines": (0, 8), "seats": (1, 1000)},
        "date_columns": None,
        "min_rows": 1,
        "lag_days": 0,
    },
    "airports": {
        "columns": {
            "faa": STR,
            "name": STR,
            "lat": F64,
            "lon": F64,
            "alt": I32,
            "tz": F64,
            "dst": STR,
            "tzone": STR,
        },
        "primary_key": ("faa",),
        "required": ("faa", "name"),
        "ranges": {"lat": (-90, 90), "lon": (-180, 180)},
        "date_columns": None,
        "min_rows": 1,
        "lag_days": 0,
    },
    "airlines": {
        "columns": {"carrier": STR, "name": STR},
        "primary_key": ("carrier",),
        "required": ("carrier", "name"),
        "ranges": {},
        "date_columns": None,
        "min_rows": 1,
        "lag_days": 0,
    },
}
DAY = dt.date(2013, 1, 5)
PATHS = {  # where each source's files landed before the specs moved to YAML
    "flights": "flights/2013/01/flights_2013-01-05.csv",
    "weather": "weather/2013/01/weather_2013-01-05.csv",
    "outcomes": "outcomes/2013/01/outcomes_2013-01-05.csv",
    "planes": "reference/planes.csv",
    "airports": "reference/airports.csv",
    "airlines": "reference/airlines.csv",
}
FUEL = {
    "name": "fuel_prices",
    "description": "Jet fuel price per gallon at each NYC airport, one file per day.",
    "grain": "daily",
    "start": "2013-01-01",
    "path": "fuel/{yyyy}/fuel_{date}.csv",
    "columns": {
        "origin": "string",
        "year": "int32",
        "month": "int32",
        "day": "int32",
        "usd_per_gallon": "float64",
    },
    "primary_key": ["origin"],
    "required": ["origin", "usd_per_gallon"],
    "ranges": {"usd_per_gallon": {"min": 0, "max": 20}},
    "date_columns": ["year", "month", "day"],
}


@pytest.mark.parametrize("name", list(EXPECTED))
def test_shipped_specs_are_the_contracts_they_were(name: str) -> None:
    spec = source_spec(name)
    expected = EXPECTED[name]
    schema = spec.schema
    assert schema.name == name
    assert list(schema.columns.items()) == list(expected["columns"].items())  # order too
    for field in ("primary_key", "required", "ranges", "date_columns", "min_rows", "lag_days"):
        assert getattr(schema, field) == expected[field], field
    assert spec.lag == expected["lag_days"]
    assert spec.dataset == "nycflights"
    landed = spec.landing_file(Path("landing"), DAY if spec.grain == "daily" else None)
    assert landed == Path("landing") / PATHS[name]


def test_a_daily_path_is_read_back_to_its_day(tmp_path: Path) -> None:
    spec = parse_spec(FUEL, tmp_path / "defs.yaml")
    for day in (dt.date(2013, 1, 2), dt.date(2013, 2, 1)):
        path = spec.landing_file(tmp_path, day)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x\n")
    assert spec.landing_file(tmp_path, "2013-01-02") == tmp_path / "fuel/2013/fuel_2013-01-02.csv"
    (tmp_path / "fuel/2013/fuel_2013-02-30.csv").write_text("x\n")  # no such day
    (tmp_path / "fuel/2014").mkdir()
    (tmp_path / "fuel/2014/fuel_2013-03-01.csv").write_text("x\n")  # folder and name disagree
    landed = [period.first_day for period in spec.landed_periods(tmp_path)]
    assert landed == [dt.date(2013, 1, 2), dt.date(2013, 2, 1)]


@pytest.mark.parametrize(
    ("grain", "start", "path", "landed", "expected"),
    [
        (
            "hourly",
            "2016-07-01T00:00",
            "fuel/{date}/fuel_{hh}.csv",
            ["fuel/2016-07-02/fuel_05.csv", "fuel/2016-07-02/fuel_23.csv"],
            ["2016-07-02-05:00", "2016-07-02-23:00"],
        ),
        (
            "weekly",
            "2016-07-04",
            "fuel/fuel_{date}.csv",  # a Monday's file; a Tuesday names no week of this calendar
            ["fuel/fuel_2016-07-11.csv", "fuel/fuel_2016-07-12.csv"],
            ["2016-07-11"],
        ),
        (
            "monthly",
            "2001-01-01",
            "fuel/{yyyy}/fuel_{mm}.csv",
            ["fuel/2001/fuel_02.csv", "fuel/2016/fuel_08.csv", "fuel/2016/fuel_13.csv"],
            ["2001-02-01", "2016-08-01"],
        ),
    ],
)
def test_every_grain_reads_its_paths_back_to_periods(  # noqa: PLR0913
    tmp_path: Path, grain: str, start: str, path: str, landed: list, expected: list
) -> None:
    spec = parse_spec(
        {**FUEL, "grain": grain, "start": start, "path": path, "date_columns": None},
        tmp_path / "defs.yaml",
    )
    for name in landed:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x\n")
    periods = spec.landed_periods(tmp_path)
    assert [p.key for p in periods] == expected
    assert {spec.landing_file(tmp_path, p) for p in periods} <= {tmp_path / n for n in landed}
    assert spec.newest_period(tmp_path).key == expected[-1]


def test_a_lag_moves_the_described_period_back(tmp_path: Path) -> None:
    spec = parse_spec({**FUEL, "grain": "weekly", "start": "2016-07-04", "lag": 2}, tmp_path)
    delivered = spec.period("2016-07-25")
    assert spec.described(delivered).key == "2016-07-11"


def test_sources_of_one_dataset_share_one_calendar(tmp_path: Path) -> None:
    specs = [
        parse_spec({**FUEL, "name": folder, "dataset": "fuel", "start": start}, tmp_path / folder)
        for folder, start in (("fuel", "2013-01-01"), ("fuel_late", "2013-02-01"))
    ]
    with pytest.raises(SpecError, match="allowed: one grain, start, end and timezone") as raised:
        datasets(specs)
    assert str(raised.value).startswith(f"{tmp_path / 'fuel_late'}: dataset: 'fuel' has")


def test_bool_and_date_columns_are_typed_and_checked(tmp_path: Path) -> None:
    attributes = {
        **FUEL,
        "columns": {**FUEL["columns"], "is_estimate": "bool", "priced_on": "date"},
    }
    spec = parse_spec(attributes, tmp_path / "defs.yaml")
    path = tmp_path / "fuel.csv"
    path.write_text(
        "origin,year,month,day,usd_per_gallon,is_estimate,priced_on\n"
        "EWR,2013,1,2,3.1,True,2013-01-01\n"
        "JFK,2013,1,2,3.2,maybe,2013-01-01\n"
        "LGA,2013,1,2,3.3,0,01/01/2013\n"
    )
    result = validate(path, spec.schema, dt.date(2013, 1, 2))
    assert result.good.to_dicts() == [
        {
            "origin": "EWR",
            "year": 2013,
            "month": 1,
            "day": 2,
            "usd_per_gallon": 3.1,
            "is_estimate": True,
            "priced_on": dt.date(2013, 1, 1),
        }
    ]
    assert result.quarantine["reason"].to_list() == [
        "is_estimate: cannot read 'maybe' as Boolean",
        "priced_on: cannot read '01/01/2013' as Date",
    ]


def test_how_files_are_read_is_carried_to_the_schema(tmp_path: Path) -> None:
    default = parse_spec(FUEL, tmp_path / "defs.yaml").schema
    assert (default.file_format, default.delimiter, default.null_tokens) == ("csv", ",", ("NA", ""))
    assert (default.period_column, default.period_format, default.timezone) == (None, None, "UTC")
    attributes = {
        **FUEL,
        "path": "fuel/{yyyy}/fuel_{date}.json",
        "columns": {**FUEL["columns"], "priced_at": "datetime"},
        "date_columns": None,
        "file_format": "jsonl",
        "null_tokens": ["-"],
        "period_column": "priced_at",
        "period_format": "%d/%m/%Y %H:%M",
        "timezone": "America/New_York",
    }
    schema = parse_spec(attributes, tmp_path / "defs.yaml").schema
    assert (schema.file_format, schema.null_tokens) == ("jsonl", ("-",))
    assert (schema.period_column, schema.period_format, schema.timezone) == (
        "priced_at",
        "%d/%m/%Y %H:%M",
        "America/New_York",
    )
    path = tmp_path / "fuel.json"
    path.write_text(
        '{"origin": "EWR", "year": 2013, "month": 1, "day": 2, "usd_per_gallon": 3.1,'
        ' "priced_at": "02/01/2013 23:30"}\n'
        '{"origin": "JFK", "year": "-", "month": 1, "day": 2, "usd_per_gallon": 3.2,'
        ' "priced_at": "03/01/2013 00:30"}\n'
    )
    result = validate(path, schema, dt.date(2013, 1, 2))
    assert result.good.select("origin", "year", "priced_at").rows() == [
        ("EWR", 2013, dt.datetime(2013, 1, 2, 23, 30))
    ]
    assert result.quarantine["reason"].to_list() == [
        "row is dated 2013-01-03 00:30:00, outside this file's period 2013-01-02"
    ]


def _broken(**changes: object) -> dict:
    attributes = copy.deepcopy(FUEL)
    for key, value in changes.items():
        if value is None:
            attributes.pop(key)
        else:
            attributes[key] = value
    return attributes


COLUMNS = FUEL["columns"]
DATED_COLUMNS = {**COLUMNS, "priced_on": "date", "priced_at": "datetime"}
DATED = {"columns": DATED_COLUMNS, "date_columns": None, "period_column": "priced_on"}
# (the spec, the field the message names, a part of what it says is allowed)
BAD_SPECS = {
    "unknown type": (
        _broken(columns={**COLUMNS, "usd_per_gallon": "decimal"}),
        "columns.usd_per_gallon",
        "'decimal' is invalid; allowed: one of int32, int64, float64, string, bool, date, datetime",
    ),
    "required not a column": (
        _broken(required=["origin", "price"]),
        "required",
        "'price' is not a declared column; allowed: origin, year, month, day, usd_per_gallon",
    ),
    "primary key not a column": (
        _broken(primary_key=["airport"]),
        "primary_key",
        "'airport' is not a declared column; allowed: origin,",
    ),
    "empty primary key": (_broken(primary_key=[]), "primary_key", "allowed: one or more"),
    "range on unknown column": (
        _broken(ranges={"price": {"min": 0, "max": 1}}),
        "ranges.price",
        "'price' is not a declared column; allowed: the number columns year, month, day, "
        "usd_per_gallon",
    ),
    "range on a text column": (
        _broken(ranges={"origin": {"min": 0, "max": 1}}),
        "ranges.origin",
        "'origin' is a string; allowed: the number columns",
    ),
    "min above max": (
        _broken(ranges={"usd_per_gallon": {"min": 20, "max": 0}}),
        "ranges.usd_per_gallon",
        "min 20 is above max 0; allowed: min <= max",
    ),
    "range as a list": (
        _broken(ranges={"usd_per_gallon": [0, 20]}),
        "ranges.usd_per_gallon",
        "allowed: a mapping of min, max",
    ),
    "bad grain": (
        _broken(grain="fortnightly"),
        "grain",
        "'fortnightly' is invalid; allowed: one of hourly, daily, weekly, monthly, batch, snapshot",
    ),
    "daily path without a day": (
        _broken(path="fuel/{yyyy}/{mm}/fuel.csv"),
        "path",
        "names no period, but the source is daily; allowed: a path with {date} or {yyyy}, {mm}, "
        "{dd}",
    ),
    "hourly path without an hour": (
        _broken(grain="hourly", path="fuel/fuel_{date}.csv"),
        "path",
        "allowed: a path with {hh}, {date} or {yyyy}, {mm}, {dd}, {hh}",
    ),
    "snapshot path with a day": (
        _broken(grain="snapshot", date_columns=None, start=None, path="fuel/fuel_{date}.csv"),
        "path",
        "a snapshot is one file; allowed: no placeholders",
    ),
    "unknown placeholder": (
        _broken(path="fuel/{day}.csv"),
        "path",
        "unknown placeholder {day}; allowed: {yyyy}, {mm}, {dd}, {hh}, {date}",
    ),
    "periodic source without a start": (
        _broken(start=None),
        "start",
        "missing; a daily source names its first period",
    ),
    "start not a date": (_broken(start="Jan 1"), "start", "allowed: an ISO date"),
    "monthly start mid-month": (
        _broken(grain="monthly", start="2013-01-15", path="fuel/fuel_{yyyy}-{mm}.csv"),
        "start",
        "does not start a monthly period; allowed: a month's first day",
    ),
    "weekly end off the weeks": (
        _broken(grain="weekly", start="2013-01-07", end="2013-03-06"),
        "end",
        "allowed: a Monday, as the weeks start on start's weekday",
    ),
    "end before start": (_broken(end="2012-12-31"), "end", "allowed: start <= end"),
    "start on a snapshot": (
        _broken(grain="snapshot", date_columns=None, path="reference/fuel.csv"),
        "start",
        "a snapshot has no periods; allowed: unset",
    ),
    "dataset not an identifier": (_broken(dataset="NYC data"), "dataset", "not an identifier"),
    "path leaving the landing zone": (
        _broken(path="../secrets/fuel_{date}.csv"),
        "path",
        "without '..'",
    ),
    "path not a csv": (_broken(path="fuel/fuel_{date}.parquet"), "path", "ending in .csv"),
    "name with a quote": (
        _broken(name="fuel'prices"),
        "name",
        '"fuel\'prices" is not an identifier; allowed: lowercase letters, digits and _',
    ),
    "name with a semicolon": (
        _broken(name="fuel;drop table raw_flights"),
        "name",
        "is not an identifier",
    ),
    "name with a space": (_broken(name="fuel prices"), "name", "is not an identifier"),
    "name in capitals": (_broken(name="FuelPrices"), "name", "is not an identifier"),
    "column with a space": (
        _broken(columns={**COLUMNS, "usd per gallon": "float64"}),
        "columns",
        "'usd per gallon' is not an identifier",
    ),
    "column with a quote": (
        _broken(columns={**COLUMNS, 'usd"': "float64"}),
        "columns",
        "is not an identifier",
    ),
    "reserved column": (
        _broken(columns={**COLUMNS, "reason": "string"}),
        "columns.reason",
        "reserved; allowed: any but line, reason",
    ),
    "unknown field": (
        _broken(colums={}),
        "colums",
        "unknown field; allowed: columns, dataset, date_columns",
    ),
    "missing field": (_broken(path=None), "path", "missing (required); allowed: a string"),
    "date columns on a snapshot": (
        _broken(grain="snapshot", start=None, path="reference/fuel.csv"),
        "date_columns",
        "a snapshot has no file period",
    ),
    "date columns not ints": (
        _broken(date_columns=["origin", "month", "day"]),
        "date_columns",
        "allowed: three int columns",
    ),
    "negative lag": (_broken(lag=-1), "lag", "-1 is impossible; allowed: >= 0"),
    "bad file format": (
        _broken(file_format="xlsx"),
        "file_format",
        "'xlsx' is invalid; allowed: one of csv, parquet, jsonl",
    ),
    "path not of its format": (
        _broken(file_format="jsonl"),
        "path",
        "allowed: a path ending in .jsonl or .json (file_format jsonl)",
    ),
    **{
        f"delimiter {name}": (
            _broken(delimiter=value),
            "delimiter",
            f"{value!r}; allowed: one character other than a line end or a double quote",
        )
        for name, value in [("empty", ""), ("of two", "||"), ("newline", "\n"), ("quote", '"')]
    },
    "delimiter on parquet": (
        _broken(file_format="parquet", path="fuel/fuel_{date}.parquet", delimiter=";"),
        "delimiter",
        "a parquet file has no delimiter; allowed: unset (csv only)",
    ),
    "null tokens not a list": (
        _broken(null_tokens="NA"),
        "null_tokens",
        "'NA'; allowed: a list of texts",
    ),
    "null token a number": (
        _broken(null_tokens=["NA", -999]),
        "null_tokens",
        "allowed: a list of texts (quote numbers: '-999')",
    ),
    "period column not declared": (
        _broken(date_columns=None, period_column="priced_at"),
        "period_column",
        "'priced_at' is not a declared column; allowed: a date or datetime column: (none",
    ),
    "period column not dated": (
        _broken(columns=DATED_COLUMNS, date_columns=None, period_column="origin"),
        "period_column",
        "'origin' is a string; allowed: a date or datetime column: priced_on, priced_at",
    ),
    "period column and date columns": (
        _broken(columns=DATED_COLUMNS, period_column="priced_at"),
        "period_column",
        "set together with date_columns; allowed: one of period_column and date_columns",
    ),
    "period column on a snapshot": (
        _broken(
            grain="snapshot",
            path="reference/fuel.csv",
            columns=DATED_COLUMNS,
            date_columns=None,
            period_column="priced_at",
        ),
        "period_column",
        "a snapshot has no period; allowed: unset",
    ),
    "period format without a year": (
        _broken(**DATED, period_format="%d/%m/%y"),
        "period_format",
        "'%d/%m/%y'; allowed: a strftime format with %Y, %m (or %b) and %d",
    ),
    "period format without a day": (
        _broken(**DATED, period_format="%Y-%m"),
        "period_format",
        "'%Y-%m' does not read back the day it writes (2016-07-02); allowed: a strftime format",
    ),
    "period format not a format": (
        _broken(**DATED, period_format="%Y-%Q-%d"),
        "period_format",
        "does not read back the day it writes",
    ),
    "period format without a period column": (
        _broken(period_format="%d/%m/%Y"),
        "period_format",
        "set without a period_column; allowed: unset, or a period_column",
    ),
    **{
        f"timezone {value}": (
            _broken(timezone=value),
            "timezone",
            f"{value!r} is not a time zone; allowed: an IANA name, e.g. UTC, America/Chicago",
        )
        for value in ("Mars/Olympus", "America", "", "../etc/passwd")
    },
    "bad owner": (_broken(owners=["someone"]), "owners", "allowed: a list of emails or team:"),
}


@pytest.mark.parametrize("case", list(BAD_SPECS))
def test_a_broken_rule_names_the_file_the_field_and_what_is_allowed(
    case: str, tmp_path: Path
) -> None:
    attributes, field, allowed = BAD_SPECS[case]
    expect_broken(attributes, tmp_path / "fuel_prices" / "defs.yaml", field, allowed)


def expect_broken(attributes: dict, file: Path, field: str, allowed: str) -> None:
    """``attributes`` (read from ``file``) fail naming the file, ``field`` and ``allowed``."""
    with pytest.raises(SpecError) as raised:
        parse_spec(attributes, file)
    message = str(raised.value)
    assert message.startswith(f"{file}: {field}: "), message
    assert allowed in message, message
    assert raised.value.field == field


def test_a_source_declared_twice_names_both_files(tmp_path: Path) -> None:
    specs = [parse_spec(FUEL, tmp_path / folder / "defs.yaml") for folder in ("fuel", "fuel_again")]
    with pytest.raises(SpecError, match="declared 2 times") as raised:
        datasets(specs)
    assert str(tmp_path / "fuel" / "defs.yaml") in str(raised.value)
    assert str(tmp_path / "fuel_again" / "defs.yaml") in str(raised.value)
    assert "allowed: a name no other spec uses" in str(raised.value)
