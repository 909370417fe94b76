"""The production tier on a real PostgreSQL server: Dagster instance from deploy/dagster.yaml,
MLflow tracking and registry in their own database, the real dagster-daemon working the queue.

1. A champion is trained, evaluated and packaged as one run; its packaging step is killed -9
   after registering, before the gate moved an alias. The step's retry completes the package:
   one version, whole, champion. Nothing half-registered at any point.
2. Three runs at once (under the queue's limit of 4), each a day range of one 16-day backfill
   through ingest -> dbt warehouse (with its tests) -> features -> scoring: all succeed, no
   DuckDB lock error, warehouse steps one at a time across runs, every day's rows where they
   belong. The first range re-runs the built days, the others add new ones; a fourth run or
   more days would only repeat what these show (each run costs a worker and a dbt parse).
"""

import datetime as dt
import json
import shutil
import time
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from factory_assets.examples.nycflights import lay_out_landing
from factory_assets.lib.registry import CHALLENGER, CHAMPION, Registry
from tests.conftest import FIRST
from tests.production.tier import (
    dagster_daemon,
    day_counts,
    landed_rows,
    lock_errors,
    most_at_once,
    run_worker,
    submit_runs,
    wait_for,
)

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

DAYS = [FIRST + dt.timedelta(days=i) for i in range(16)]
RANGES = [(DAYS[0], DAYS[7]), (DAYS[8], DAYS[11]), (DAYS[12], DAYS[15])]
MODEL = "flights_model,flights_evaluation,flights_package"
HOLDOUT = {"holdout_start": "2013-01-07", "holdout_end": "2013-01-07", "importance_rows": 300}
MODEL_CONFIG = {
    "ops": {
        "flights_model": {"config": {"train_end": "2013-01-04", "val_days": 2, "max_epochs": 1}},
        "flights_evaluation": {"config": HOLDOUT},
        "flights_package": {"config": {**HOLDOUT, "floors": {"auc": 0.0, "brier": 1.0}}},
    }
}
SCORING = ("flight_features", "flight_predictions")
PACKAGE_FILES = {"model.onnx", "preprocessor.json", "model_card.md"}


@pytest.fixture(scope="module")
def tier(prod_env: dict[str, str], built, tmp_path_factory) -> Path:  # noqa: ANN001
    """16 days of landing files and a copy of the built warehouse (its first 8 days)."""
    root = tmp_path_factory.mktemp("tier")
    lay_out_landing(root / "data" / "landing", DAYS[0], DAYS[-1] + dt.timedelta(days=1))
    shutil.copy(built[0], root / "warehouse.duckdb")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FACTORY_WAREHOUSE", str(root / "warehouse.duckdb"))
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


def _line_selection() -> tuple[list[dg.AssetKey], list[dg.AssetCheckKey]]:
    """What new days change: daily ingest, the dbt models downstream of it (with their dbt
    tests), features, scoring. Reference tables and dimensions were built with the copy."""
    from factory_assets.definitions import defs
    from factory_assets.specs import shipped_datasets

    graph = defs().resolve_asset_graph()
    daily = {dg.AssetKey(f"raw_{s.name}") for s in shipped_datasets()["nycflights"].periodic}
    warehouse = dg.AssetSelection.groups("warehouse").resolve(graph)
    downstream = dg.AssetSelection.assets(*daily).downstream().resolve(graph)
    keys = daily | (downstream & warehouse) | {dg.AssetKey(k) for k in SCORING}
    dbt_tests = [
        check
        for check in graph.asset_check_keys
        if check.asset_key in keys and not check.name.endswith("_meets_suite")  # not GX suites
    ]
    return sorted(keys), dbt_tests


@pytest.mark.timeout(1800)  # ~3 min on a quiet 2-core machine; much longer on a loaded one
def test_concurrent_runs_over_16_days_lose_nothing(
    tier: Path,
    champion: dict,
    record_property,  # noqa: ANN001
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assets, checks = _line_selection()
    # Every step of these runs is in the `warehouse` pool: the runs' workers execute them in
    # process (FACTORY_EXECUTOR=in_process), without a process start per step.
    monkeypatch.setenv("FACTORY_EXECUTOR", "in_process")
    with dg.DagsterInstance.get() as instance:
        with dagster_daemon(tier / "daemon.log"):
            started = time.monotonic()
            run_ids = submit_runs(instance, RANGES, assets, checks)
            records = wait_for(instance, run_ids, timeout=1500)
            wall = time.monotonic() - started
        statuses = {r.dagster_run.run_id[:8]: r.dagster_run.status.value for r in records}
        spans = [(r.start_time, r.end_time) for r in records]
        locks = lock_errors(instance, run_ids)
        events = {
            e.dagster_event.event_type_value
            for run_id in run_ids
            for e in instance.all_logs(run_id)
            if e.dagster_event
        }
        steps = [s for run_id in run_ids for s in instance.get_run_step_stats(run_id)]
        flights = instance.get_materialized_partitions(dg.AssetKey("raw_flights"))
        scored = instance.get_materialized_partitions(dg.AssetKey("flight_predictions"))

    figures = {
        "runs": len(run_ids),
        "partitions": len(DAYS),
        "wall_s": round(wall, 1),
        "most_runs_at_once": most_at_once(spans) if all(all(s) for s in spans) else None,
        "steps": len(steps),
        "lock_errors": len(locks),
    }
    print(f"\nconcurrency figures: {figures}")
    for name, value in figures.items():
        record_property(name, value)
    assert set(statuses.values()) == {"SUCCESS"}, (statuses, (tier / "daemon.log").read_text())
    # runs overlapped; whether all three overlap depends on how fast the first run ends next
    # to the other workers' start
    assert 2 <= figures["most_runs_at_once"] <= len(RANGES)
    assert locks == [] and not events & {"STEP_UP_FOR_RETRY", "STEP_FAILURE"}

    # pool `warehouse`: one step at a time, across the runs
    spans = sorted((s.start_time, s.end_time, s.step_key) for s in steps)
    assert {s for *_, s in spans} >= {"raw_flights", "warehouse_dbt_build", *SCORING}
    for (_, end, a), (start, _, b) in zip(spans, spans[1:], strict=False):
        assert end <= start, (a, b)

    # no lost partition: every day landed, loaded, built, featurized and scored, exactly once
    days = {d.isoformat() for d in DAYS}
    assert flights == days and scored == days
    warehouse = tier / "warehouse.duckdb"
    raw = day_counts(warehouse, "raw_flights")
    assert raw == {d.isoformat(): landed_rows(tier / "data", "flights", d) for d in DAYS}
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        rows = conn.execute(
            "select f.flight_date::varchar, count(*), count(p.flight_id), "
            "count(distinct p.flight_id) from fct_flights f "
            "left join flight_predictions p using (flight_id) group by 1"
        ).fetchall()
    per_day = {day: counts for day, *counts in rows}
    assert {d: per_day[d][0] for d in days} == raw  # fct_flights: one row per landed flight
    assert all(per_day[d][0] == per_day[d][1] == per_day[d][2] for d in days)  # all scored, once
