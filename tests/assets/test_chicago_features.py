"""ml_chicago_ridership_features on ~80 landed days: a real dbt build over raw tables loaded as
the ingest asset loads them, then what the view promises: point in time, a late label, holidays.

The Chicago source specs use the calendar fields (start, lag, period_column) that the Dagster
loader does not read yet, so the raw tables are written here with lib/ingest's validation (the
rows the ingest asset keeps) and dbt runs as a subprocess, not through the definitions.
"""

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
import yaml

from factory_assets.components.model_spec import ModelSpec
from factory_assets.examples.chicago import lay_out_chicago
from factory_assets.lib import lake
from factory_assets.lib.catalog import warehouse_tables
from factory_assets.lib.ingest import SourceSchema, validate
from factory_assets.lib.lake import Lake, copy_lake
from factory_assets.lib.specs.source_fields import TYPES

ROOT = Path(__file__).resolve().parents[2]
DBT_DIR = ROOT / "dbt_project"
SPECS = ROOT / "factory_assets" / "defs" / "ingest"
MODEL_SPEC = ROOT / "factory_assets" / "defs" / "models" / "ridership" / "defs.yaml"
VIEW = "ml_chicago_ridership_features"
LABEL = "rides_thousands"  # the day's own count: the ridership models' regression label
SPANS = [  # delivery days: a July 4th week, and October to the second week of December
    (dt.date(2015, 6, 28), dt.date(2015, 7, 6)),
    (dt.date(2015, 10, 1), dt.date(2015, 12, 9)),
]
DAYS = sum((last - first).days + 1 for first, last in SPANS)
LABELLED = (dt.date(2015, 10, 1), dt.date(2015, 11, 25))  # counts land 14 days late
CHANGED_DAY = dt.date(2015, 11, 16)
INPUTS = [  # every column but the key, the date and the label
    "station", "ride_weekday", "ride_month", "is_holiday", "temp_min_f", "temp_f", "temp_max_f",
    "temp_range_f", "dewpoint_f", "humidity_pct", "pressure_inhg", "pressure_change_inhg",
    "wind_mph", "wind_max_mph", "gust_mph", "gust_max_mph", "precipitation_in",
    "precipitation_max_in", "rain_share", "snow_share", "cloud_share", "storm_share",
    "has_blackhawks_home_game", "has_bulls_home_game", "has_bears_home_game",
    "has_white_sox_home_game", "has_cubs_home_game", "rides_lag_14d", "rides_lag_21d",
    "rides_lag_28d", "rides_lag_35d", "rides_weekday_mean_14_35d", "rides_weekday_median_14_35d",
    "rides_mean_14_41d",
]  # fmt: skip


def _spec(source: str) -> tuple[SourceSchema, int]:
    """The spec's contract (the fields today's SourceSchema has) and its lag."""
    attributes = yaml.safe_load((SPECS / source / "defs.yaml").read_text())["attributes"]
    schema = SourceSchema(
        name=attributes["name"],
        columns={column: TYPES[kind] for column, kind in attributes["columns"].items()},
        primary_key=tuple(attributes["primary_key"]),
        required=tuple(attributes.get("required", [])),
        ranges={c: (b["min"], b["max"]) for c, b in attributes.get("ranges", {}).items()},
        min_rows=attributes.get("min_rows", 0),
    )
    return schema, attributes.get("lag", 0)


def _load_raw(landing: Path, path: Path) -> None:
    """raw_chicago_<source> as the ingest asset writes it: good rows, typed, with lineage."""
    loaded_at = dt.datetime(2015, 12, 9, 12)
    with lake.connect(path) as conn:
        for source in ("ridership", "weather"):
            schema, lag = _spec(f"chicago_{source}")
            frames = []
            for file in sorted((landing / "chicago" / source).rglob("*.csv")):
                day = dt.date.fromisoformat(file.stem.rsplit("_", 1)[1])  # the delivery day
                good = validate(file, schema, day).good
                # the period check of the calendar work: a file's rows describe its day - lag
                assert good["date"].unique().to_list() in ([], [day - dt.timedelta(days=lag)])
                frames.append(
                    good.with_columns(
                        _partition_date=pl.lit(day),
                        _source_file=pl.lit(str(file)),
                        _loaded_at=pl.lit(loaded_at),
                    )
                )
            conn.register("landed", pl.concat(frames))
            conn.execute(f"create table raw_chicago_{source} as select * from landed")
            conn.unregister("landed")


def _dbt(command: str, path: Path, target: Path) -> subprocess.CompletedProcess:
    dbt = Path(sys.executable).parent / "dbt"
    args = [str(dbt), command, "--select", f"+{VIEW}", "--project-dir", str(DBT_DIR)]
    args += ["--profiles-dir", str(DBT_DIR), "--target-path", str(target)]
    args += ["--log-path", str(target / "logs")]
    where = Lake.parse(path)  # the profile attaches ducklake:<kind>:<catalog> and its data path
    env = {**os.environ, "FACTORY_WAREHOUSE": f"{where.kind}:{where.catalog}",
           "FACTORY_WAREHOUSE_DATA": where.data_path, "DO_NOT_TRACK": "true"}  # fmt: skip
    done = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout[-4000:]
    return done


def _rows(path: Path, sql: str, params: list | None = None) -> pl.DataFrame:
    with lake.connect(path, read_only=True) as conn:
        return conn.sql(sql, params=params).pl()


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(warehouse, dbt target folder) after ``dbt build --select +<the view>``."""
    root = tmp_path_factory.mktemp("chicago")
    for first, last in SPANS:
        lay_out_chicago(root / "landing", first, last)
    path, target = root / "warehouse.sqlite", root / "target"
    _load_raw(root / "landing", path)
    _dbt("build", path, target)
    return path, target


def test_the_build_runs_every_model_test_and_unit_test(built) -> None:  # noqa: ANN001
    _, target = built
    results = json.loads((target / "run_results.json").read_text())["results"]
    statuses = {r["unique_id"]: r["status"] for r in results}
    assert set(statuses.values()) <= {"success", "pass"}, statuses
    kinds = [uid.split(".")[0] for uid in statuses]
    assert kinds.count("model") == 3
    assert kinds.count("unit_test") == 2
    assert kinds.count("test") >= 12


def test_the_view_has_the_columns_its_yml_declares(built) -> None:  # noqa: ANN001
    path, target = built
    declared = warehouse_tables(target / "manifest.json")[VIEW]
    columns = _rows(path, f"select * from {VIEW} limit 0").columns
    assert columns == list(declared) == ["ridership_id", "ride_date", *INPUTS, LABEL]


def test_one_row_per_station_and_day_with_weather(built) -> None:  # noqa: ANN001
    path, _ = built
    ((rows, keys, stations, days),) = _rows(
        path,
        f"select count(*), count(distinct ridership_id), count(distinct station), "
        f"count(distinct ride_date) from {VIEW}",
    ).rows()
    assert (rows, keys, stations, days) == (20 * DAYS, 20 * DAYS, 20, DAYS)


def test_federal_holidays_and_their_observed_days_are_flagged(built) -> None:  # noqa: ANN001
    path, _ = built
    flags = dict(_rows(path, f"select distinct ride_date, is_holiday from {VIEW}").rows())
    holidays = {d for d, flagged in flags.items() if flagged}
    assert holidays == {
        dt.date(2015, 7, 3),  # Independence Day on a Saturday, observed the Friday before
        dt.date(2015, 7, 4),
        dt.date(2015, 10, 12),  # Columbus Day
        dt.date(2015, 11, 11),  # Veterans Day
        dt.date(2015, 11, 26),  # Thanksgiving
    }


def test_the_label_lands_with_the_days_count_14_days_later(built) -> None:  # noqa: ANN001
    path, _ = built
    labelled = _rows(
        path,
        f"select ride_date, count(*) as rows, count({LABEL}) as labels, "
        f"count(distinct {LABEL}) as values from {VIEW} group by all order by all",
    )
    with_label = labelled.filter(pl.col("labels") > 0)
    assert (with_label["labels"] == 20).all()  # a day's count lands for every station at once
    assert (with_label["ride_date"].min(), with_label["ride_date"].max()) == LABELLED
    assert with_label.height == (LABELLED[1] - LABELLED[0]).days + 1
    # the newest count delivered (2015-12-09) is of 2015-11-25: later days have no label yet
    assert (with_label["values"] > 1).all()  # stations count differently on a day
    thanksgiving = with_label.filter(pl.col("ride_date") == dt.date(2015, 11, 26))
    assert thanksgiving.is_empty()


def test_no_input_reads_a_count_of_the_last_13_days(built, tmp_path: Path) -> None:  # noqa: ANN001
    path, target = built
    changed = tmp_path / "warehouse.sqlite"
    copy_lake(path, changed)
    window = [CHANGED_DAY - dt.timedelta(days=13), CHANGED_DAY]
    with lake.connect(changed) as conn:
        conn.execute(
            "update raw_chicago_ridership set rides = rides * 3 + 5 where date between ? and ?",
            window,
        )
    _dbt("run", changed, shutil.copytree(target, tmp_path / "target"))  # keeps the parse
    sql = f"select * from {VIEW} order by ridership_id"
    before, after = _rows(path, sql), _rows(changed, sql)
    assert before["ridership_id"].to_list() == after["ridership_id"].to_list()
    up_to_day = pl.col("ride_date") <= CHANGED_DAY
    assert before.filter(up_to_day).select(INPUTS).equals(after.filter(up_to_day).select(INPUTS))
    # the change did reach the inputs of later days, and the labels of its own days
    later = pl.col("ride_date").is_between(
        CHANGED_DAY + dt.timedelta(days=1), CHANGED_DAY + dt.timedelta(days=41)
    )
    assert not before.filter(later).select(INPUTS).equals(after.filter(later).select(INPUTS))
    in_window = pl.col("ride_date").is_between(*window)
    was, now = before.filter(in_window)[LABEL], after.filter(in_window)[LABEL]
    assert was.len() == 20 * 14 and was.is_not_null().all()
    assert ((now - (was * 3 + 5)).abs() < 1e-9).all()  # the label is the day's own count
    earlier = pl.col("ride_date") < window[0]
    assert before.filter(earlier)[LABEL].equals(after.filter(earlier)[LABEL])


def test_the_ridership_spec_validates_and_reads_the_view_in_key_order(built) -> None:  # noqa: ANN001
    path, target = built
    attributes = yaml.safe_load(MODEL_SPEC.read_text())["attributes"]
    spec = ModelSpec.model_validate(attributes)
    line = spec.line(MODEL_SPEC, warehouse_tables(target / "manifest.json"))
    assert line.features == VIEW and line.columns.label == LABEL
    assert line.task.kind == "regression" and line.segments.fallback == "ridership_all"
    assert set(line.columns.inputs) <= set(INPUTS)
    frame = _rows(path, line.labelled_sql(), list(LABELLED))
    assert frame.height == 20 * ((LABELLED[1] - LABELLED[0]).days + 1)
    assert frame["ridership_id"].to_list() == sorted(frame["ridership_id"])
