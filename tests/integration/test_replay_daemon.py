"""`factory replay`, then the real dagster-daemon: it launches nothing the replay already ran.

A champion promoted by a retrain run (triggered by 01-08) is in the registry when `factory
replay` runs 01-08: the replay's promotion sensor re-scores the day (its retrain sensor is in its
cool-down). Then `make ui`'s daemon starts on the same instance: each of the model's sensors
ticks twice, and no run is added (before the fix the daemon re-scored the day again). The same
replay shows what a person reads: a line per stage, no library output, a log file with the rest.
"""

import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator

import dagster as dg
import pytest

from factory_assets.components.model_line.automation import RETRAIN_TAG, TRIGGER_DAY_TAG
from factory_assets.lib.lake import copy_lake
from factory_assets.private_api import finished_ticks
from factory_assets.specs import shipped_datasets
from tests.assets.test_models import MODEL, _config
from tests.conftest import ROOT
from tests.production.tier import dagster_daemon

DAY = "2013-01-08"
INTERVAL_S = 1  # the fastest the settings allow: the two ticks come sooner
WATCHED = ("flights_retrain_sensor", "flights_promotion_sensor")
REPLAY = ["replay", "--dataset", "nycflights", "--first", DAY, "--days", "1", "--no-initial"]


@pytest.fixture(scope="module")
def replayed(defs, built, landing_root, tmp_path_factory) -> Iterator[tuple]:  # noqa: ANN001
    """(state dir, the replay's finished process, its runs); the environment stays set."""
    from factory_assets.replay import Replay

    state = tmp_path_factory.mktemp("replayed")
    (state / "dagster_home").mkdir()
    shutil.copy(ROOT / "dagster.yaml", state / "dagster_home" / "dagster.yaml")
    copy_lake(built[0], state / "warehouse.sqlite")
    env = {
        "FACTORY_STATE_DIR": str(state),
        "FACTORY_WAREHOUSE": str(state / "warehouse.sqlite"),
        "FACTORY_DATA_DIR": str(landing_root),
        "FACTORY_MLFLOW_TRACKING_URI": f"sqlite:///{state / 'mlflow.db'}",
        "FACTORY_MLFLOW_ARTIFACTS": (state / "artifacts").as_uri(),
        "FACTORY_REPORTS_DIR": str(state / "reports"),
        "FACTORY_SENSOR_INTERVAL_S": str(INTERVAL_S),
        "FACTORY_RETRAIN_COOLDOWN_DAYS": "1",  # the retrain of 01-08 below: no other for 01-08
        "DAGSTER_HOME": str(state / "dagster_home"),
    }
    with pytest.MonkeyPatch.context() as mp:
        for name, value in env.items():
            mp.setenv(name, value)
        with dg.DagsterInstance.get() as instance:
            # the sensors' cursors start on the empty instance, as before a first `make demo`
            Replay(instance, defs, shipped_datasets()["nycflights"]).start_cursors()
            job = defs.resolve_implicit_global_asset_job_def()
            champion = job.get_subset(asset_selection={dg.AssetKey(k) for k in MODEL})
            tags = {RETRAIN_TAG: "flights", TRIGGER_DAY_TAG: DAY}
            result = champion.execute_in_process(
                run_config=_config(floors={"auc": 0.5, "brier": 0.25}), instance=instance, tags=tags
            )
            assert result.success
            before = {r.run_id for r in instance.get_runs()}
            done = subprocess.run(
                [sys.executable, "-m", "factory_assets.cli", *REPLAY],
                cwd=ROOT,
                capture_output=True,
                text=True,
                timeout=600,
            )
            runs = {r.run_id: r.job_name for r in instance.get_runs() if r.run_id not in before}
        yield state, done, runs


@pytest.mark.slow
def test_the_replay_shows_a_line_per_stage_and_logs_the_rest(replayed) -> None:  # noqa: ANN001
    state, done, _ = replayed
    (log,) = (state / "logs").glob("replay-*.log")
    text = log.read_text()
    lines = done.stdout.splitlines()
    assert lines[0] == f"log: {log}"
    assert not done.stderr
    assert "DEBUG" not in done.stdout and "Running with dbt=" not in done.stdout
    daily = next(line for line in lines if re.match(rf"{DAY}\s+daily line\s+ok", line))
    assert re.search(r"ingested [\d,]+ · scored [\d,]+ · checks \d+ passed", daily)
    assert done.returncode == 0 and "FAILED" not in done.stdout, done.stdout
    assert any(re.match(rf"{DAY}\s+rescore flights\s+ok", line) for line in lines)
    # the first day's summary (no performance judged yet) names its model and succeeds
    assert any(re.match(r"flights\s+summary\s+ok", line) for line in lines), done.stdout
    assert any(line.startswith("flights champion: version 1") for line in lines)
    assert " - DEBUG - " in text and "STEP_SUCCESS" in text
    assert "Running with dbt=" in text  # dbt's log, in process


@pytest.mark.slow
def test_the_daemon_launches_nothing_the_replay_already_ran(replayed) -> None:  # noqa: ANN001
    state, _, runs = replayed
    assert "rescore_flights" in runs.values(), runs  # the replay's promotion sensor launched
    with dg.DagsterInstance.get() as instance:
        known = {r.run_id for r in instance.get_runs()}
        log = state / "daemon.log"
        with dagster_daemon(log):
            deadline = time.monotonic() + 240
            while (
                time.monotonic() < deadline and min(finished_ticks(instance, WATCHED).values()) < 2
            ):
                time.sleep(1)
        assert min(finished_ticks(instance, WATCHED).values()) >= 2, log.read_text()[-3000:]
        added = {r.run_id: r.job_name for r in instance.get_runs() if r.run_id not in known}
    assert not added, f"the daemon launched {added}; log:\n{log.read_text()[-3000:]}"
