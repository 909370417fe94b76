"""A dataset without a time axis through Dagster, with no Python of its own: screenings.

Breast-cancer screenings land in batches (one file each, no date); the batch sensor adds each new
batch to the dataset's dynamic partitions and runs its batch line; the malignancy model, whose
spec has no data.date, trains on a seeded split by key hash and is scored and monitored per batch.
"""

import subprocess
import sys
from pathlib import Path

import dagster as dg
import polars as pl
import pytest
import yaml

from factory_assets.components.model_line.automation import TRIGGER_DAY_TAG
from factory_assets.components.model_spec import MANIFEST, ModelSpec
from factory_assets.examples.screenings import lay_out_screenings, screenings_frame
from factory_assets.lib import lake
from factory_assets.lib.catalog import warehouse_tables
from factory_assets.lib.model_line import split_bucket
from factory_assets.lib.training.train import TrainConfig
from factory_assets.resources import LandingZone, RetrainPolicy
from factory_assets.specs import shipped_datasets
from tests.serving.online_check import assert_online_equals_batch, in_process

SPEC = Path(__file__).resolve().parents[2] / "factory_assets/defs/models/malignancy/defs.yaml"
PARTITIONS = "screenings_batches"
TRAIN = {"max_epochs": 3}
GATE = {"floors": {"auc": 0.0, "brier": 1.0}}
MEASUREMENTS = yaml.safe_load(SPEC.read_text())["attributes"]["data"][
    "numeric"
]  # the first champion is wanted, not judged here


@pytest.fixture
def landing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Batches 01 … 04 landed, a fresh warehouse."""
    root = tmp_path / "data"
    lay_out_screenings(root / "landing", range(1, 5))
    monkeypatch.setenv("FACTORY_DATA_DIR", str(root))
    monkeypatch.setenv("FACTORY_WAREHOUSE", str(tmp_path / "warehouse.sqlite"))
    return root


def _discover(defs: dg.Definitions, instance: dg.DagsterInstance, root: Path) -> dg.SensorResult:
    """One tick of the batch sensor, its new partitions added as the daemon would."""
    context = dg.build_sensor_context(
        instance=instance, resources={"landing": LandingZone(root=str(root))}
    )
    result = defs.get_sensor_def("screenings_batch_sensor")(context)
    for request in result.dynamic_partitions_requests or []:
        instance.add_dynamic_partitions(request.partitions_def_name, list(request.partition_keys))
    return result


def test_the_batch_sensor_adds_new_batches_and_requests_their_runs(
    defs: dg.Definitions, landing: Path, instance: dg.DagsterInstance
) -> None:
    first = _discover(defs, instance, landing)
    assert [r.partition_key for r in first.run_requests] == ["01", "02", "03", "04"]
    assert {r.run_key for r in first.run_requests} == {f"screenings-0{n}" for n in range(1, 5)}
    assert instance.get_dynamic_partitions(PARTITIONS) == ["01", "02", "03", "04"]
    assert defs.get_sensor_def("screenings_batch_sensor").job_name == "screenings_batch_line"

    again = _discover(defs, instance, landing)
    assert not again.run_requests and "no new batch" in again.skip_reason.skip_message

    lay_out_screenings(landing / "landing", [5])
    newer = _discover(defs, instance, landing)
    assert [r.partition_key for r in newer.run_requests] == ["05"]
    assert instance.get_dynamic_partitions(PARTITIONS)[-1] == "05"


def _fail_performance(defs: dg.Definitions, instance: dg.DagsterInstance) -> None:
    """Judge batch 05 again against a floor no model reaches."""
    job = defs.resolve_job_def("screenings_batch_line").get_subset(
        asset_selection={dg.AssetKey("malignancy_prediction_performance")}
    )
    floor = {
        "ops": {
            "malignancy_prediction_performance": {"config": {"floors": {"auc": 1.01, "brier": 0.2}}}
        }
    }
    result = job.execute_in_process(instance=instance, partition_key="05", run_config=floor)
    (check,) = result.get_asset_check_evaluations()
    assert not check.passed


def _retrain_tick(
    defs: dg.Definitions, instance: dg.DagsterInstance, cursor: str | None = None
) -> dg.SensorResult:
    context = dg.build_sensor_context(
        instance=instance, cursor=cursor, resources={"retrain_policy": RetrainPolicy()}
    )
    return defs.get_sensor_def("malignancy_retrain_sensor")(context)


def _range(first: str, last: str) -> dict:
    return {
        "dagster/asset_partition_range_start": first,
        "dagster/asset_partition_range_end": last,
    }


def _split_in_another_process(keys: list[str], seed: int) -> list[int]:
    """DuckDB's buckets of ``keys`` computed by a fresh Python process."""
    code = (
        "import sys, duckdb; from factory_assets.lib.model_line import Split; "
        f"sql = Split(seed={seed}).day_sql('k'); "
        "keys = sys.stdin.read().split(); "
        "rows = duckdb.sql(f\"select (({sql}) - date '2000-01-01') from "
        'unnest(?::varchar[]) t(k)", params=[keys]).fetchall(); '
        "print(' '.join(str(r[0]) for r in rows))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], input=" ".join(keys), capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return [int(x) for x in done.stdout.split()]


def _split_keys(warehouse: Path) -> dict[str, list[str]]:
    """Keys of the training, validation and holdout rows, read as the stations read them."""
    spec = ModelSpec.model_validate(yaml.safe_load(SPEC.read_text())["attributes"])
    line = spec.line(SPEC, warehouse_tables(MANIFEST), shipped_datasets())
    w = spec.windows()
    cfg = TrainConfig(w["train_start"], w["train_end"], w["val_days"])
    windows = {
        "train": cfg.train_window,
        "val": cfg.val_window,
        "holdout": (w["holdout_start"], w["holdout_end"]),
    }
    with lake.connect(warehouse, read_only=True) as conn:
        return {
            part: conn.sql(line.labelled_sql(), params=list(window))
            .pl()[line.columns.key]
            .to_list()
            for part, window in windows.items()
        }


@pytest.mark.slow
def test_a_model_without_dates_trains_on_a_key_split_and_is_monitored_per_batch(
    defs: dg.Definitions, landing: Path, instance: dg.DagsterInstance, tmp_path: Path
) -> None:
    _discover(defs, instance, landing)
    config = {
        "ops": {
            "malignancy_model": {"config": TRAIN},
            "malignancy_package": {"config": GATE},
        }
    }
    built = defs.resolve_job_def("screenings_line").execute_in_process(
        instance=instance, run_config=config, tags=_range("01", "04")
    )
    assert built.success
    package = next(
        e
        for e in built.get_asset_materialization_events()
        if e.asset_key.path == ["malignancy_package"]
    )
    assert package.materialization.metadata["promoted"].value

    # the split: disjoint by key, all of the labelled rows, the same on every read and process
    warehouse = tmp_path / "warehouse.sqlite"
    parts = _split_keys(warehouse)
    assert _split_keys(warehouse) == parts
    keys = [k for part in parts.values() for k in part]
    landed = screenings_frame().filter(pl.col("batch") <= 4)["screening_id"]
    assert len(keys) == len(set(keys)) and set(keys) == set(landed)
    seed = 13
    python = {k: split_bucket(k, seed) for k in keys}
    assert all(python[k] < 70 for k in parts["train"])
    assert all(70 <= python[k] < 85 for k in parts["val"])
    assert all(python[k] >= 85 for k in parts["holdout"])
    assert _split_in_another_process(keys, seed) == [python[k] for k in keys]
    assert 0.6 < len(parts["train"]) / len(keys) < 0.8

    # a new batch lands: the sensor finds it, its batch line scores and monitors it
    lay_out_screenings(landing / "landing", [5])
    (request,) = _discover(defs, instance, landing).run_requests
    batch = defs.resolve_job_def("screenings_batch_line").execute_in_process(
        instance=instance, partition_key=request.partition_key
    )
    assert batch.success
    checks = {e.check_name: e for e in batch.get_asset_check_evaluations()}
    drift = {k: v.value for k, v in checks["drift_within_threshold"].metadata.items()}
    assert drift["day"] == "05" and "drifted_share" in drift  # judged, by Evidently's tests
    performance = checks["performance_above_floor"]
    assert performance.metadata["day"].value == "05"  # labels come with their batch (lag 0)
    assert performance.metadata["evaluated"].value
    with lake.connect(warehouse, read_only=True) as conn:
        ((served,),) = conn.execute(
            "select count(*) from malignancy_predictions where _batch = '05'"
        ).fetchall()
        ((landed,),) = conn.execute(
            "select count(*) from ml_screening_features where _batch = '05'"
        ).fetchall()
        ((judged,),) = conn.execute(
            "select rows from malignancy_performance where day = '05'"
        ).fetchall()
    assert served == landed == judged > 90

    # the batch line made the online snapshot: the measurements come with the request, are
    # scored as the batch scored them, and one far outside training's range is named
    with in_process(["malignancy"]) as client:
        assert assert_online_equals_batch(client, warehouse, "malignancy", "p._batch = '05'") > 90
        row = {"screening_id": "x-1", **dict.fromkeys(MEASUREMENTS, 1.0), "mean_radius": 1e6}
        response = client.post("/v1/models/malignancy/predict", json={"rows": [row]})
        assert response.status_code == 422, response.text
        assert response.json()["detail"][0]["loc"] == ["body", "rows", 0, "mean_radius"]

    # a failed check retrains on the same split, and the cool-down counts batches
    _fail_performance(defs, instance)
    retrain = _retrain_tick(defs, instance)
    (request,) = retrain.run_requests
    assert request.tags[TRIGGER_DAY_TAG] == "05"
    assert request.run_config["ops"]["malignancy_model"]["config"] == {
        "train_start": "2000-01-01",
        "train_end": "2000-03-10",
        "val_days": 15,
    }
    job = defs.resolve_job_def("retrain_malignancy")
    done = instance.create_run_for_job(job, tags=request.tags, status=dg.DagsterRunStatus.STARTED)
    instance.report_run_failed(instance.get_run_by_id(done.run_id))
    _fail_performance(defs, instance)
    cooling = _retrain_tick(defs, instance, retrain.cursor)
    assert not cooling.run_requests
    assert "next allowed 2 batches after it" in cooling.skip_reason.skip_message

    # the monitoring story reads per-batch rows as it reads days
    summary = (
        defs.resolve_implicit_global_asset_job_def()
        .get_subset(asset_selection={dg.AssetKey("malignancy_monitoring_summary")})
        .execute_in_process(instance=instance)
    )
    assert summary.success
