"""The real dagster-daemon closes the loop: a drifted batch lands, the sensor retrains.

A champion trained on 01-01…01-04 watches 01-08. That day's weather and schedule land
distorted (a heat wave, every flight moved to one carrier and route), the line runs, the drift
check fails, and the daemon — not the test — evaluates flights_retrain_sensor, queues the retrain
run and launches it. The test waits for the run and for the new model version in the registry.
"""

import datetime as dt
import os
import shutil
import time
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from factory_assets.examples.nycflights import daily_file
from factory_assets.lib.lake import copy_lake
from factory_assets.lib.registry import Registry
from tests.assets.test_models import MODEL, _config
from tests.conftest import ROOT
from tests.production.tier import TERMINAL, dagster_daemon

DAY = dt.date(2013, 1, 8)
RETRAIN = {"factory/retrain": "flights"}


def _distort(landing: Path) -> None:
    """The 8th lands as nobody has seen it: +45 °F, all flights one carrier on one route."""
    weather = daily_file(landing, "weather", DAY)
    frame = pl.read_csv(weather, infer_schema=False)
    hot = frame.with_columns(
        (pl.col(c).cast(pl.Float64) + 45).cast(pl.String) for c in ("temp", "dewp")
    )
    weather.write_text(hot.write_csv(null_value="NA"))
    flights = daily_file(landing, "flights", DAY)
    frame = pl.read_csv(flights, infer_schema=False)
    flights.write_text(
        frame.with_columns(
            pl.lit("HA").alias("carrier"),
            pl.lit("JFK").alias("origin"),
            pl.lit("HNL").alias("dest"),
        )
        .unique(subset=["carrier", "flight", "origin"], keep="first")
        .write_csv(null_value="NA")
    )


@pytest.mark.slow
def test_the_daemon_retrains_after_a_drifted_batch(
    defs, built, own_landing, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # noqa: ANN001
    copy_lake(built[0], os.environ["FACTORY_WAREHOUSE"])
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    env = {
        "FACTORY_MLFLOW_TRACKING_URI": uri,
        "FACTORY_MLFLOW_ARTIFACTS": (tmp_path / "artifacts").as_uri(),
        "FACTORY_REPORTS_DIR": str(tmp_path / "reports"),
        "FACTORY_SENSOR_INTERVAL_S": "2",
        # the daemon's retrain run executes its steps in its worker: a process start per step
        # (~7 s each here) says nothing about the sensor that launched it
        "FACTORY_EXECUTOR": "in_process",
        # windows that fit the test's week: train 01-02…01-04, validate 01-05…06, hold out 01-07
        "FACTORY_RETRAIN_TRAIN_DAYS": "3",
        "FACTORY_RETRAIN_VAL_DAYS": "2",
        "FACTORY_RETRAIN_HOLDOUT_DAYS": "1",
        "DAGSTER_HOME": str(tmp_path / "dagster_home"),
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    (tmp_path / "dagster_home").mkdir()
    shutil.copy(ROOT / "dagster.yaml", tmp_path / "dagster_home" / "dagster.yaml")
    _distort(own_landing / "landing")

    with dg.DagsterInstance.get() as instance:
        job = defs.resolve_implicit_global_asset_job_def()
        champion = job.get_subset(asset_selection={dg.AssetKey(k) for k in MODEL})
        assert champion.execute_in_process(
            run_config=_config(floors={"auc": 0.5, "brier": 0.25}), instance=instance
        ).success
        daily = defs.resolve_job_def("nycflights_daily_line")
        day = daily.execute_in_process(
            partition_key=DAY.isoformat(),
            instance=instance,
            raise_on_error=False,
            # the check's verdict never depends on the HTML report; the sensor reads the verdict
            run_config={"ops": {"flights_drift_report": {"config": {"html_report": "never"}}}},
        )
        drift = next(
            e for e in day.get_asset_check_evaluations() if e.check_name == "drift_within_threshold"
        )
        assert not drift.passed, "the distorted day must fail the drift check"
        assert not instance.get_runs(filters=dg.RunsFilter(tags=RETRAIN))

        with dagster_daemon(tmp_path / "daemon.log"):
            deadline = time.monotonic() + 420
            runs = []
            while time.monotonic() < deadline:
                runs = instance.get_runs(filters=dg.RunsFilter(tags=RETRAIN))
                if runs and runs[0].status in TERMINAL:
                    break
                time.sleep(1)
    log = (tmp_path / "daemon.log").read_text()[-3000:]
    assert runs, f"the daemon launched no retrain; daemon log:\n{log}"
    (run,) = runs
    assert run.status == dg.DagsterRunStatus.SUCCESS, log
    assert run.tags["factory/trigger_day"] == DAY.isoformat()
    assert run.tags["dagster/sensor_name"] == "flights_retrain_sensor"
    versions = Registry(uri).client.search_model_versions("name='flights'")
    retrained = [v for v in versions if v.tags.get("dagster_run_id") == run.run_id]
    assert len(versions) == 2 and len(retrained) == 1
    assert retrained[0].tags["train_start"] == "2013-01-02"
