"""Landing file validation: every malformed case is quarantined or rejected with a reason."""

import datetime as dt
import os
from pathlib import Path

import polars as pl
import pytest

from factory_assets.examples.nycflights import daily_file
from factory_assets.lib.ingest import LandingFileError, validate
from factory_assets.specs import source_spec

FLIGHTS, OUTCOMES, WEATHER = (source_spec(n).schema for n in ("flights", "outcomes", "weather"))

DAY = dt.date(2013, 1, 2)


@pytest.fixture
def lines(landing_root: Path) -> list[str]:
    return daily_file(landing_root / "landing", "flights", DAY).read_text().splitlines(True)


def _write(tmp_path: Path, payload: str | bytes) -> Path:
    path = tmp_path / "flights.csv"
    path.write_bytes(payload.encode() if isinstance(payload, str) else payload)
    return path


def test_a_clean_file_loads_every_row_typed(lines: list[str], tmp_path: Path) -> None:
    result = validate(_write(tmp_path, "".join(lines)), FLIGHTS, DAY)
    assert result.good.height == len(lines) - 1
    assert result.quarantine.height == 0
    assert result.good.schema["time_hour"] == pl.Datetime("us")
    assert result.good.schema["distance"] == pl.Int32


def test_wrong_type_quarantines_that_row_only(lines: list[str], tmp_path: Path) -> None:
    bad = lines[3].split(",")
    bad[6] = "fifteen"  # flight number
    text = "".join([*lines[:3], ",".join(bad), *lines[4:]])
    result = validate(_write(tmp_path, text), FLIGHTS, DAY)
    assert result.good.height == len(lines) - 2
    assert result.quarantine["line"].to_list() == [4]
    assert result.quarantine["reason"][0] == "flight: cannot read 'fifteen' as Int32"
    assert '"flight":"fifteen"' in result.quarantine["record"][0]


def test_missing_required_value_and_out_of_range(lines: list[str], tmp_path: Path) -> None:
    row = lines[1].split(",")
    row[5] = "NA"  # carrier
    row[1] = "13"  # month
    result = validate(
        _write(tmp_path, "".join([lines[0], ",".join(row), *lines[2:]])), FLIGHTS, DAY
    )
    reason = result.quarantine["reason"][0]
    assert "carrier: required, missing" in reason
    assert "month: 13 outside [1, 12]" in reason


def test_duplicate_rows_keep_the_first(lines: list[str], tmp_path: Path) -> None:
    result = validate(_write(tmp_path, "".join([*lines, lines[5], lines[5]])), FLIGHTS, DAY)
    assert result.good.height == len(lines) - 1
    assert result.quarantine.height == 2
    assert all(r.startswith("duplicate of line 6") for r in result.quarantine["reason"])


def test_a_row_of_another_day_is_quarantined(lines: list[str], tmp_path: Path) -> None:
    moved = lines[2].replace("2013,1,2,", "2013,1,3,", 1)
    result = validate(_write(tmp_path, "".join([*lines[:2], moved, *lines[3:]])), FLIGHTS, DAY)
    assert result.quarantine["reason"].to_list() == [
        "row is dated 2013-01-03, outside this file's period 2013-01-02"
    ]


def test_ragged_rows_are_quarantined_with_the_raw_line(lines: list[str], tmp_path: Path) -> None:
    text = "".join([*lines, "2013,1,2,517\n", lines[1].rstrip("\n") + ",x,y\n"])
    result = validate(_write(tmp_path, text), FLIGHTS, DAY)
    assert result.good.height == len(lines) - 1
    assert result.quarantine["reason"].to_list() == [
        "row has 4 fields, the header has 14",
        "row has 16 fields, the header has 14",
    ]
    assert result.quarantine["record"][0] == "2013,1,2,517\n"


def test_extra_column_is_reported_and_ignored(lines: list[str], tmp_path: Path) -> None:
    rows = "".join(line.rstrip("\n") + ",B7\n" for line in lines[1:])
    text = lines[0].rstrip("\n") + ",gate\n" + rows
    result = validate(_write(tmp_path, text), FLIGHTS, DAY)
    assert result.extra_columns == ["gate"]
    assert result.good.height == len(lines) - 1
    assert "gate" not in result.good.columns


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda ls: "", "is empty"),
        (lambda ls: "\n\n", "is empty"),
        (lambda ls: os.urandom(2048) + b"\x00", "binary data"),
        (lambda ls: b"\xff\xfe" + "".join(ls).encode("utf-16-le"), "binary data"),
        (lambda ls: "".join(ls)[:-25], "truncated"),
        (
            lambda ls: "<html><body>502 Bad Gateway</body></html>\n",
            "no recognisable flights header",
        ),
        (
            lambda ls: ls[0].replace(",carrier", "", 1) + "".join(ls[1:]),
            r"lacks required columns \['carrier'\]",
        ),
        (lambda ls: ls[0], "0 good rows"),
    ],
    ids=["empty", "blank", "garbage", "utf16", "truncated", "html", "missing-column", "no-rows"],
)
def test_unusable_files_are_rejected_whole(lines, tmp_path, mutate, message) -> None:  # noqa: ANN001
    with pytest.raises(LandingFileError, match=message):
        validate(_write(tmp_path, mutate(lines)), FLIGHTS, DAY)


def test_a_missing_file_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(LandingFileError, match="missing"):
        validate(tmp_path / "nope.csv", FLIGHTS, DAY)


def test_header_only_weather_is_a_day_without_observations(tmp_path: Path) -> None:
    header = ",".join(WEATHER.columns) + "\n"
    result = validate(_write(tmp_path, header), WEATHER, DAY)
    assert result.good.height == 0 and result.quarantine.height == 0


def test_outcomes_describe_the_day_before_their_delivery(landing_root: Path) -> None:
    delivered = dt.date(2013, 1, 3)
    path = daily_file(landing_root / "landing", "outcomes", delivered)
    described = delivered - dt.timedelta(days=OUTCOMES.lag_days)  # the caller applies the lag
    assert validate(path, OUTCOMES, described).quarantine.height == 0
    shifted = validate(path, OUTCOMES, delivered).quarantine
    assert shifted.height > 0
    assert shifted["reason"][0] == "row is dated 2013-01-02, outside this file's period 2013-01-03"
    assert shifted["_partition_date"][0] == delivered


def test_a_byte_order_mark_is_not_part_of_the_first_column(
    lines: list[str], tmp_path: Path
) -> None:
    result = validate(_write(tmp_path, "\ufeff" + "".join(lines)), FLIGHTS, DAY)
    assert result.good.height == len(lines) - 1
    assert result.quarantine.height == 0


def test_a_field_beyond_the_csv_modules_size_limit(lines: list[str], tmp_path: Path) -> None:
    long = "N" * 200_000  # Python's csv module stops at 131,072 characters a field
    row = lines[1].split(",")
    row[7] = long  # tailnum
    ragged = lines[2].rstrip("\n") + f",{long}\n"
    text = "".join([lines[0], ",".join(row), ragged, *lines[3:]])
    result = validate(_write(tmp_path, text), FLIGHTS, DAY)
    assert result.good.height == len(lines) - 2
    assert result.good["tailnum"][0] == long
    assert result.quarantine.select("line", "reason").rows() == [
        (3, "row has 15 fields, the header has 14")
    ]
