"""A second dataset through Dagster with no Python of its own: Chicago L ridership, 2015.

Its sources, dbt models and model specs are YAML and SQL only; the jobs come from its calendar
(daily from 2001-01-22), the counts (and so the labels) land 14 days late, and a day it misses
stops its own line only, never the flights'. Ridership is a regression of a station's daily
entries: ``ridership`` one model per station (segments), ``ridership_all`` the global model a
station without its own champion falls back on.

Needs the task-aware training, evaluation and packaging (regression loss, metrics, gate and
ONNX value output) to run end to end.
"""

import datetime as dt
import shutil
from pathlib import Path

import dagster as dg
import pytest

from factory_assets.examples.chicago import lay_out_chicago
from factory_assets.lib import lake
from tests.serving.online_check import assert_online_equals_batch, in_process

FIRST, LAST = dt.date(2015, 5, 1), dt.date(2015, 10, 22)
# every station has 30 validation and 30 holdout days, and 60+ training days (segments.min_rows)
HOLDOUT = {"holdout_start": "2015-09-01", "holdout_end": "2015-09-30", "importance_rows": 0}
TRAIN = {"train_start": "2015-05-15", "train_end": "2015-07-31", "val_days": 30, "max_epochs": 2}
GATE = {"floors": {"r2": -1e6}}  # the first champions are wanted, not judged here
OWN = ["addison", "archer_35th"]  # the stations that get their own model; the others fall back


def _range(first: str, last: str) -> dict:
    return {
        "dagster/asset_partition_range_start": first,
        "dagster/asset_partition_range_end": last,
    }


def _chain(model: str) -> dict:
    return {
        f"{model}_model": {"config": TRAIN},
        f"{model}_evaluation": {"config": HOLDOUT},
        f"{model}_package": {"config": {**HOLDOUT, **GATE}},
    }


@pytest.fixture(scope="module")
def chicago_landing(tmp_path_factory: pytest.TempPathFactory, landing_root: Path) -> Path:
    """The flights' landing zone (2013-01-01 … 01-08) plus Chicago's May – October 2015."""
    root = tmp_path_factory.mktemp("chicago") / "data"
    shutil.copytree(landing_root, root)
    lay_out_chicago(root / "landing", FIRST, LAST)
    return root


def _promoted(result: dg.ExecuteInProcessResult, asset: str) -> list:
    return [
        e.materialization.metadata["promoted"].value
        for e in result.get_asset_materialization_events()
        if e.asset_key.path == [asset]
    ]


@pytest.mark.slow
def test_ridership_per_station_regression_falls_back_on_the_global_model(
    defs: dg.Definitions,
    chicago_landing: Path,
    warehouse: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FACTORY_DATA_DIR", str(chicago_landing))
    instance = dg.DagsterInstance.ephemeral()
    line = defs.resolve_job_def("chicago_line")
    built = line.execute_in_process(
        instance=instance, run_config={"ops": _chain("ridership_all")},
        tags=_range(FIRST.isoformat(), "2015-10-20"),
    )  # fmt: skip
    assert built.success
    assert _promoted(built, "ridership_all_package") == [True]

    # two stations get their own model (one run over their segment partitions)
    stations = defs.resolve_job_def("retrain_ridership").execute_in_process(
        instance=instance, run_config={"ops": _chain("ridership")}, tags=_range(*OWN)
    )
    assert stations.success
    # one materialization per segment partition, each with the run's count: both passed
    assert _promoted(stations, "ridership_package") == [len(OWN)] * len(OWN)

    score = defs.resolve_job_def("score_chicago")
    assert score.execute_in_process(
        instance=instance, tags=_range("2015-10-01", "2015-10-20")
    ).success

    daily = defs.resolve_job_def("chicago_daily_line")
    day = daily.execute_in_process(instance=instance, partition_key="2015-10-21")
    assert day.success
    checks = {(e.asset_key.path[-1], e.check_name): e for e in day.get_asset_check_evaluations()}
    # labels land 14 days late: partition 10-21 judges the predictions served for 10-07, and a
    # day of 20 stations is under min_rows (140), so the 7 days to 10-07 are judged together
    performance = checks[("ridership_all_prediction_performance", "performance_above_floor")]
    assert performance.metadata["day"].value == "2015-10-07"
    assert performance.metadata["judged_from"].value == "2015-10-01"
    assert performance.metadata["evaluated"].value
    assert "rmse" in performance.metadata and "auc" not in performance.metadata
    assert ("ridership_drift_report", "drift_within_threshold") in checks
    with lake.connect(warehouse, read_only=True) as conn:
        served = conn.execute(
            "select f.station, p.model_name, p.fallback, p.prediction "
            "from ridership_predictions p join ml_chicago_ridership_features f "
            "using (ridership_id) where p.ride_date = '2015-10-21' order by f.station"
        ).fetchall()
        judged = dict(
            conn.execute(
                "select model_name, rows from ridership_performance where day = '2015-10-07'"
            ).fetchall()
        )
        ((rmse, r2),) = conn.execute(
            "select rmse, r2 from ridership_all_performance where day = '2015-10-07'"
        ).fetchall()
    assert len(served) == 20
    own = {station: name for station, name, _, _ in served if station in OWN}
    assert own == {s: f"ridership-{s}" for s in OWN}
    assert all(name == "ridership_all" and fallback for s, name, fallback, _ in served
               if s not in OWN)  # fmt: skip
    assert all(isinstance(value, float) for *_, value in served)  # a number of entries
    assert judged == {"ridership-addison": 7, "ridership-archer_35th": 7, "ridership_all": 126}
    assert rmse > 0 and r2 == r2  # regression metrics of the served values, not AUC

    # the line made both models' online snapshots with scoring: served as the batch served
    # them, each station by its own model or the fallback, and a day outside the window is named
    with in_process(["ridership", "ridership_all"]) as client:
        for model in ("ridership", "ridership_all"):
            where = "p.ride_date = '2015-10-21'"
            assert assert_online_equals_batch(client, warehouse, model, where) == 20
        late = {"rows": [{"station": "addison", "ride_date": "2016-01-04"}]}
        response = client.post("/v1/models/ridership/predict", json=late)
        assert response.status_code == 422, response.text
        assert response.json()["detail"][0]["loc"] == ["body", "rows", 0, "ride_date"]
        assert "outside the snapshot's window" in response.text


@pytest.mark.slow
def test_a_day_chicago_misses_stops_its_line_only(
    defs: dg.Definitions, chicago_landing: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "data"
    shutil.copytree(chicago_landing, root)
    (root / "landing" / "chicago" / "weather" / "2015" / "10" / "weather_2015-10-22.csv").unlink()
    monkeypatch.setenv("FACTORY_DATA_DIR", str(root))
    monkeypatch.setenv("FACTORY_WAREHOUSE", str(tmp_path / "warehouse.sqlite"))
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
        for model in ("flights", "cancellations", "delay_class")
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
