"""Landing formats and reading options: CSV, Parquet and JSON Lines judged by the same rules."""

import dataclasses
import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from factory_assets.lib.calendar import Period
from factory_assets.lib.ingest import LandingFileError, SourceSchema, validate

DAY = dt.date(2016, 7, 2)
TRIPS = SourceSchema(
    name="trips",
    columns={
        "trip_id": pl.Int64(),
        "city": pl.String(),
        "fare": pl.Float64(),
        "paid": pl.Boolean(),
        "started_at": pl.Datetime("us"),
    },
    primary_key=("trip_id",),
    required=("trip_id", "city"),
    ranges={"fare": (0, 500)},
)
GOOD = pl.DataFrame(
    {
        "trip_id": [1, 2],
        "city": ["Chicago", "Evanston"],
        "fare": [12.5, 7.0],
        "paid": [True, False],
        "started_at": [dt.datetime(2016, 7, 2, 10), dt.datetime(2016, 7, 2, 23, 30)],
    }
)
FORMATS = ["csv", "parquet", "jsonl"]


def _land(tmp_path: Path, frame: pl.DataFrame, file_format: str) -> Path:
    """``frame`` written by Polars as a landing file of ``file_format``."""
    path = tmp_path / f"trips.{file_format}"
    {"csv": frame.write_csv, "parquet": frame.write_parquet, "jsonl": frame.write_ndjson}[
        file_format
    ](path)
    return path


def _schema(file_format: str, **changes: object) -> SourceSchema:
    return dataclasses.replace(TRIPS, file_format=file_format, **changes)


@pytest.mark.parametrize("file_format", FORMATS)
def test_a_good_file_of_every_format_loads_typed_rows(tmp_path: Path, file_format: str) -> None:
    result = validate(_land(tmp_path, GOOD, file_format), _schema(file_format), DAY)
    assert result.quarantine.height == 0
    assert result.good.schema == pl.Schema(TRIPS.columns)
    assert result.good.to_dicts() == GOOD.to_dicts()


@pytest.mark.parametrize("file_format", FORMATS)
def test_a_row_of_a_wrong_type_is_quarantined_in_every_format(
    tmp_path: Path, file_format: str
) -> None:
    frame = GOOD.with_columns(pl.Series("fare", ["12.5", "twelve"]))
    result = validate(_land(tmp_path, frame, file_format), _schema(file_format), DAY)
    assert result.good["trip_id"].to_list() == [1]
    assert result.quarantine.select("line", "reason").rows() == [
        ({"csv": 3, "parquet": 2, "jsonl": 2}[file_format], "fare: cannot read 'twelve' as Float64")
    ]
    assert '"fare":"twelve"' in result.quarantine["record"][0]


def test_parquet_columns_typed_otherwise_are_judged_as_their_text(tmp_path: Path) -> None:
    frame = GOOD.with_columns(
        pl.Series("paid", [1, 5]),  # an int column where the contract says bool
        pl.Series("fare", [{"usd": 12.5}, None]),  # nested: judged as its JSON
        pl.Series("city", ["NA", "Evanston"]),  # a null token, in a typed file too
    )
    result = validate(_land(tmp_path, frame, "parquet"), _schema("parquet"), DAY)
    assert result.good.height == 0
    assert result.quarantine["reason"].to_list() == [
        """fare: cannot read '{"usd": 12.5}' as Float64; city: required, missing""",
        "paid: cannot read '5' as Boolean",
    ]


@pytest.mark.parametrize(
    ("file_format", "payload", "message"),
    [
        ("parquet", lambda good: good[: len(good) // 2], "not valid Parquet .*must end with PAR1"),
        ("parquet", lambda good: b"trip_id,city\n1,x\n", "not valid Parquet"),
        ("parquet", lambda good: b"", "is empty"),
        ("jsonl", lambda good: good[:-10], "truncated"),
        ("jsonl", lambda good: b"<html><body>502 Bad Gateway</body></html>\n", "not JSON Lines"),
        ("jsonl", lambda good: b"\x00" * 64, "binary data"),
        ("jsonl", lambda good: b'{"a": 1}\n', "no recognisable trips header"),
    ],
    ids=["truncated", "csv-inside", "empty", "truncated", "html", "binary", "foreign"],
)
def test_a_malformed_file_is_rejected_whole_with_its_reason(
    tmp_path: Path,
    file_format: str,
    payload,
    message: str,  # noqa: ANN001
) -> None:
    path = _land(tmp_path, GOOD, file_format)
    path.write_bytes(payload(path.read_bytes()))
    with pytest.raises(LandingFileError, match=message) as raised:
        validate(path, _schema(file_format), DAY)
    assert str(path) in str(raised.value)


@pytest.mark.parametrize("file_format", ["parquet", "jsonl"])
def test_a_file_without_a_contract_column_is_rejected(tmp_path: Path, file_format: str) -> None:
    path = _land(tmp_path, GOOD.drop("fare"), file_format)
    with pytest.raises(LandingFileError, match=r"lacks required columns \['fare'\]"):
        validate(path, _schema(file_format), DAY)


def test_a_jsonl_line_that_is_no_object_is_quarantined_alone(tmp_path: Path) -> None:
    path = _land(tmp_path, GOOD, "jsonl")
    lines = path.read_text().splitlines(keepends=True)
    path.write_text(lines[0] + '{"trip_id": 3, "city": \n' + "[1, 2]\n" + lines[1])
    result = validate(path, _schema("jsonl"), DAY)
    assert result.good["trip_id"].to_list() == [1, 2]
    assert result.quarantine.select("line", "reason", "record").rows() == [
        (2, "line is not valid JSON (Expecting value, column 24)", '{"trip_id": 3, "city": '),
        (3, "line is a JSON list, not an object", "[1, 2]"),
    ]


@pytest.mark.parametrize("delimiter", [";", "\t"])
def test_a_csv_delimiter(tmp_path: Path, delimiter: str) -> None:
    path = tmp_path / "trips.csv"
    GOOD.write_csv(path, separator=delimiter)
    assert validate(path, _schema("csv", delimiter=delimiter), DAY).good.equals(GOOD)
    with pytest.raises(LandingFileError, match="no recognisable trips header"):
        validate(path, TRIPS, DAY)  # read with the default comma: one column of it all


def test_custom_null_tokens(tmp_path: Path) -> None:
    path = tmp_path / "trips.csv"
    path.write_text(
        "trip_id,city,fare,paid,started_at\n"
        "1,NA,-,true,2016-07-02T10:00:00Z\n"  # NA is a city's name here; - is null
        "2,Evanston,,n/a,2016-07-02T11:00:00Z\n"  # an empty fare is no longer null
    )
    result = validate(path, _schema("csv", null_tokens=("-", "n/a")), DAY)
    assert result.good.select("city", "fare", "paid").rows() == [("NA", None, True)]
    assert result.quarantine["reason"].to_list() == ["fare: cannot read '' as Float64"]


def test_datetime_columns_read_iso_8601_variants(tmp_path: Path) -> None:
    path = tmp_path / "trips.csv"
    variants = [
        "2016-07-02T10:00:00Z",
        "2016-07-02 10:00:00",
        "2016-07-02T12:00:00+02:00",
        "2016-07-02T10:00",
        "2016-07-02T10:00:00.250",
        "2016-07-02",
        "02/07/2016 10:00",
    ]
    rows = "".join(f"{i},Chicago,1,true,{v}\n" for i, v in enumerate(variants))
    path.write_text("trip_id,city,fare,paid,started_at\n" + rows)
    result = validate(path, TRIPS, DAY)
    ten = dt.datetime(2016, 7, 2, 10)
    assert result.good["started_at"].to_list() == [
        *[ten] * 4,
        ten.replace(microsecond=250_000),
        dt.datetime(2016, 7, 2),
    ]
    assert result.quarantine["reason"].to_list() == [
        "started_at: cannot read '02/07/2016 10:00' as Datetime(time_unit='us', time_zone=None)"
    ]


def test_a_datetime_period_column_in_its_timezone(tmp_path: Path) -> None:
    path = tmp_path / "trips.csv"
    path.write_text(
        "trip_id,city,fare,paid,started_at\n"
        "1,Chicago,1,true,2016-07-02T03:00Z\n"  # 2016-07-01 22:00 in Chicago
        "2,Chicago,1,true,2016-07-02T10:00:00\n"  # naive: already Chicago's time
        "3,Chicago,1,true,2016-07-03T04:30:00+00:00\n"  # 23:30 in Chicago
    )
    schema = _schema("csv", period_column="started_at", timezone="America/Chicago")
    result = validate(path, schema, DAY)
    assert result.good["started_at"].to_list() == [
        dt.datetime(2016, 7, 2, 10),
        dt.datetime(2016, 7, 2, 23, 30),
    ]
    assert result.quarantine["reason"].to_list() == [
        "row is dated 2016-07-01 22:00:00, outside this file's period 2016-07-02"
    ]


def test_an_aware_parquet_timestamp_is_converted_into_the_timezone(tmp_path: Path) -> None:
    utc = GOOD.with_columns(
        pl.Series(
            "started_at", [dt.datetime(2016, 7, 2, 3), dt.datetime(2016, 7, 2, 15)]
        ).dt.replace_time_zone("UTC")
    )
    schema = _schema("parquet", period_column="started_at", timezone="America/Chicago")
    result = validate(_land(tmp_path, utc, "parquet"), schema, DAY)
    assert result.good["started_at"].to_list() == [dt.datetime(2016, 7, 2, 10)]
    assert result.quarantine["reason"].to_list() == [
        "row is dated 2016-07-01 22:00:00, outside this file's period 2016-07-02"
    ]


def test_an_hourly_period_is_half_open(tmp_path: Path) -> None:
    frame = GOOD.with_columns(
        pl.Series("started_at", [dt.datetime(2016, 7, 2, 10, 59), dt.datetime(2016, 7, 2, 11)])
    )
    hour = Period(dt.datetime(2016, 7, 2, 10), dt.datetime(2016, 7, 2, 11), "2016-07-02-10:00")
    schema = _schema("jsonl", period_column="started_at")
    result = validate(_land(tmp_path, frame, "jsonl"), schema, hour)
    assert result.good["trip_id"].to_list() == [1]
    assert result.quarantine["reason"].to_list() == [
        "row is dated 2016-07-02 11:00:00, outside this file's period "
        "[2016-07-02 10:00, 2016-07-02 11:00)"
    ]


DATED = SourceSchema(
    name="rides",
    columns={"ride_id": pl.Int64(), "service_date": pl.Date()},
    primary_key=("ride_id",),
    period_column="service_date",
    period_format="%d/%m/%Y",
)


def test_a_date_period_column_read_with_its_own_format(tmp_path: Path) -> None:
    path = tmp_path / "rides.csv"
    path.write_text("ride_id,service_date\n1,02/07/2016\n2,2016-07-02\n3,03/07/2016\n")
    result = validate(path, DATED, DAY)
    assert result.good.rows() == [(1, DAY)]
    assert result.quarantine["reason"].to_list() == [
        "service_date: cannot read '2016-07-02' as Date",  # the format is the parse format
        "row is dated 2016-07-03, outside this file's period 2016-07-02",
    ]


def test_a_longer_period_holds_its_days_and_names_its_partition(tmp_path: Path) -> None:
    path = tmp_path / "rides.csv"
    path.write_text("ride_id,service_date\n1,01/07/2016\n2,31/07/2016\n3,01/08/2016\n")
    july = Period(dt.datetime(2016, 7, 1), dt.datetime(2016, 8, 1), "2016-07-01")
    result = validate(path, DATED, july)
    assert result.good["ride_id"].to_list() == [1, 2]
    assert result.quarantine["reason"].to_list() == [
        "row is dated 2016-08-01, outside this file's period 2016-07-01 to 2016-07-31"
    ]
    assert result.quarantine["_partition_date"].to_list() == [dt.date(2016, 7, 1)]


def test_date_columns_in_a_period_of_several_days(tmp_path: Path) -> None:
    path = tmp_path / "counts.csv"
    path.write_text("year,month,day,n\n2016,7,4,1\n2016,7,10,2\n2016,2,30,3\n2016,6,27,4\n")
    schema = SourceSchema(
        name="counts",
        columns={"year": pl.Int32(), "month": pl.Int32(), "day": pl.Int32(), "n": pl.Int32()},
        primary_key=("n",),
        date_columns=("year", "month", "day"),
    )
    week = Period(dt.datetime(2016, 7, 4), dt.datetime(2016, 7, 11), "2016-07-04")
    result = validate(path, schema, week)
    assert result.good["n"].to_list() == [1, 2]
    assert result.quarantine["reason"].to_list() == [
        "row is dated 2016-02-30, outside this file's period 2016-07-04 to 2016-07-10",
        "row is dated 2016-06-27, outside this file's period 2016-07-04 to 2016-07-10",
    ]
