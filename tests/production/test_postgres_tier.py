"""The production tier on a real PostgreSQL server: Dagster instance from deploy/dagster.yaml,
MLflow tracking and registry in their own database.

A champion is trained, evaluated and packaged as one run; its packaging step is killed -9 after
registering, before the gate moved an alias. The step's retry completes the package: one
version, whole, champion. Nothing half-registered at any point. (Runs side by side on a lake
whose catalog is in Postgres: test_lake_concurrency.py.)
"""

import datetime as dt
import json
from pathlib import Path

import dagster as dg
import pytest

from factory_assets.examples.nycflights import lay_out_landing
from factory_assets.lib.lake import copy_lake
from factory_assets.lib.registry import CHALLENGER, CHAMPION, Registry
from tests.conftest import FIRST
from tests.production.tier import run_worker

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

DAYS = [FIRST + dt.timedelta(days=i) for i in range(8)]
MODEL = "flights_model,flights_evaluation,flights_package"
HOLDOUT = {"holdout_start": "2013-01-07", "holdout_end": "2013-01-07", "importance_rows": 300}
MODEL_CONFIG = {
    "ops": {
        "flights_model": {"config": {"train_end": "2013-01-04", "val_days": 2, "max_epochs": 1}},
        "flights_evaluation": {"config": HOLDOUT},
        "flights_package": {"config": {**HOLDOUT, "floors": {"auc": 0.0, "brier": 1.0}}},
    }
}
PACKAGE_FILES = {"model.onnx", "preprocessor.json", "model_card.md"}


@pytest.fixture(scope="module")
def tier(prod_env: dict[str, str], built, tmp_path_factory) -> Path:  # noqa: ANN001
    """Landing files and a copy of the built warehouse (8 days)."""
    root = tmp_path_factory.mktemp("tier")
    lay_out_landing(root / "data" / "landing", DAYS[0], DAYS[-1])
    copy_lake(built[0], root / "warehouse.sqlite")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FACTORY_WAREHOUSE", str(root / "warehouse.sqlite"))
        mp.setenv("FACTORY_DATA_DIR", str(root / "data"))
        yield root


@pytest.fixture(scope="module")
def champion(tier: Path, prod_env: dict[str, str]) -> dict:
    """Train -> evaluate -> package as one run; the packaging step is killed once after
    registering. What the registry held right after the kill, and at the end."""
    registry = Registry(prod_env["FACTORY_MLFLOW_TRACKING_URI"])
    marker = tier / "paused"
    run_id = run_worker([MODEL, json.dumps(MODEL_CONFIG)], "registered", marker)
    # the marker holds the killed step's pid; the run went on without waiting for the test
    return {
        "run_id": run_id,
        "registry": registry,
        "killed_pid": int(marker.read_text()),
    }


def test_killed_packaging_registers_no_half_package(champion: dict) -> None:
    registry = champion["registry"]
    with dg.DagsterInstance.get() as instance:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        run = instance.get_run_by_id(champion["run_id"])
        events = [e.dagster_event for e in instance.all_logs(run.run_id) if e.dagster_event]
    assert run.status == dg.DagsterRunStatus.SUCCESS
    failed = [e for e in events if e.event_type_value == "STEP_UP_FOR_RETRY"]
    assert [e.step_key for e in failed] == ["flights_package"]  # the kill, retried

    versions = registry.client.search_model_versions("name='flights'")
    assert len(versions) == 1  # the retry completed the killed attempt's version
    version = registry.version("flights", CHAMPION)
    assert version is not None and version.version == versions[0].version
    assert registry.version("flights", CHALLENGER) is None
    assert version.tags["gate_decision"] == "promoted" and version.tags["gate_reason"]
    assert PACKAGE_FILES <= {p.name for p in registry.download(version).iterdir()}
    assert registry.client.get_experiment_by_name("flights").artifact_location.startswith("file://")
