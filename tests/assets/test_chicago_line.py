"""A second dataset through Dagster with no Python of its own: Chicago L ridership, 2015.

Its sources, dbt models and model spec are YAML and SQL only; the jobs come from its calendar
(daily from 2001-01-22), the counts (and so the labels) land 14 days late, and a day it misses
stops its own line only, never the flights'.
"""

import datetime as dt
import shutil
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from factory_assets.examples.chicago import lay_out_chicago

FIRST, LAST = dt.date(2015, 7, 1), dt.date(2015, 10, 22)
HOLDOUT = {"holdout_start": "2015-09-26", "holdout_end": "2015-10-05", "importance_rows": 0}
TRAIN = {"train_start": "2015-08-10", "train_end": "2015-09-18", "val_days": 7, "max_epochs": 3}
GATE = {"floors": {"auc": 0.0, "brier": 1.0}}  # the first champion is wanted, not judged here


def _range(first: str, last: str) -> dict:
    return {
        "dagster/asset_partition_range_start": first,
        "dagster/asset_partition_range_end": last,
    }


@pytest.fixture(scope="module")
def chicago_landing(tmp_path_factory: pytest.TempPathFactory, landing_root: Path) -> Path:
    """The flights' landing zone (2013-01-01 … 01-08) plus Chicago's July – October 2015."""
    root = tmp_path_factory.mktemp("chicago") / "data"
    shutil.copytree(landing_root, root)
    lay_out_chicago(root / "landing", FIRST, LAST)
    return root


@pytest.mark.slow
def test_chicago_lands_trains_scores_and_monitors_with_labels_two_weeks_late(
    defs: dg.Definitions,
    chicago_landing: Path,
    warehouse: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FACTORY_DATA_DIR", str(chicago_landing))
    instance = dg.DagsterInstance.ephemeral()
    config = {
        "ops": {
            "ridership_model": {"config": TRAIN},
            "ridership_evaluation": {"config": HOLDOUT},
            "ridership_package": {"config": {**HOLDOUT, **GATE}},
        }
    }
    line = defs.resolve_job_def("chicago_line")
    built = line.execute_in_process(
        instance=instance, run_config=config, tags=_range("2015-07-01", "2015-10-20")
    )
    assert built.success
    package = next(
        e
        for e in built.get_asset_materialization_events()
        if e.asset_key.path == ["ridership_package"]
    )
    assert package.materialization.metadata["promoted"].value

    score = defs.resolve_job_def("score_chicago")
    assert score.execute_in_process(
        instance=instance, tags=_range("2015-10-01", "2015-10-20")
    ).success

    daily = defs.resolve_job_def("chicago_daily_line")
    day = daily.execute_in_process(instance=instance, partition_key="2015-10-21")
    assert day.success
    checks = {e.check_name: e for e in day.get_asset_check_evaluations()}
    performance = checks["performance_above_floor"]
    # labels land 14 days late: partition 10-21 judges the predictions served for 10-07, and a
    # day of 20 stations is under min_rows (140), so the 7 days to 10-07 are judged together
    assert performance.metadata["day"].value == "2015-10-07"
    assert performance.metadata["judged_from"].value == "2015-10-01"
    assert performance.metadata["evaluated"].value
    assert "drift_within_threshold" in checks
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        ((served,),) = conn.execute(
            "select count(*) from ridership_predictions where ride_date = '2015-10-21'"
        ).fetchall()
        ((rows,),) = conn.execute(
            "select rows from ridership_performance where day = '2015-10-07'"
        ).fetchall()
    assert (served, rows) == (20, 140)


@pytest.mark.slow
def test_a_day_chicago_misses_stops_its_line_only(
    defs: dg.Definitions, chicago_landing: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "data"
    shutil.copytree(chicago_landing, root)
    (root / "landing" / "chicago" / "weather" / "2015" / "10" / "weather_2015-10-22.csv").unlink()
    monkeypatch.setenv("FACTORY_DATA_DIR", str(root))
    monkeypatch.setenv("FACTORY_WAREHOUSE", str(tmp_path / "warehouse.duckdb"))
    instance = dg.DagsterInstance.ephemeral()

    missing = defs.resolve_job_def("chicago_daily_line").execute_in_process(
        instance=instance, partition_key="2015-10-22", raise_on_error=False
    )
    assert not missing.success
    failure = next(e for e in missing.all_events if e.is_step_failure)
    assert "landing file is missing" in failure.message or "landing file is missing" in str(
        failure.event_specific_data.error
    )
    # the flights line, in the same landing zone and warehouse, never reads Chicago's files
    holdout = {"holdout_start": "2013-01-05", "holdout_end": "2013-01-05", "importance_rows": 0}
    train = {"train_end": "2013-01-02", "val_days": 2, "max_epochs": 1}
    models = {
        f"{model}_{station}": {"config": train if station == "model" else holdout}
        for model in ("flights", "cancellations")
        for station in ("model", "evaluation", "package")
    }
    flights = defs.resolve_job_def("nycflights_line").execute_in_process(
        instance=instance,
        run_config={"ops": models},
        tags=_range("2013-01-01", "2013-01-08"),
        raise_on_error=False,
    )
    assert flights.success
    keys = defs.resolve_job_def("nycflights_line").asset_layer.executable_asset_keys
    assert not [k for k in keys if "chicago" in k.to_user_string()]
