"""Failures: kill -9 mid-write leaves nothing half done; re-execute from failure completes; a
commit that meets the lake's catalog busy (another writer holds it) is retried with backoff,
visibly in the run log, and a reader outside Dagster never stops a step.

Runs go through a real run worker process (tests/production/faults.py, the project's
multiprocess executor) whose step subprocess pauses at a known point and is killed there.
"""

import datetime as dt
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import dagster as dg
import pytest

from factory_assets.examples.nycflights import lay_out_landing
from factory_assets.lib.lake import connect, copy_lake
from tests.conftest import LAST, run_assets
from tests.production.tier import day_counts, landed_rows, run_worker

NEW_DAYS = [LAST + dt.timedelta(days=1), LAST + dt.timedelta(days=2)]


@pytest.fixture
def ten_days(built, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:  # noqa: ANN001
    """A copy of the built warehouse (8 days) and a landing zone with two more days."""
    path = tmp_path / "warehouse.sqlite"
    copy_lake(built[0], path)
    lay_out_landing(tmp_path / "data" / "landing", NEW_DAYS[0] - dt.timedelta(days=9), NEW_DAYS[-1])
    monkeypatch.setenv("FACTORY_WAREHOUSE", str(path))
    monkeypatch.setenv("FACTORY_DATA_DIR", str(tmp_path / "data"))
    return path


@pytest.mark.slow
def test_killed_run_worker_leaves_no_half_table_and_reexecution_completes(
    ten_days: Path,
    instance: dg.DagsterInstance,
    tmp_path: Path,
) -> None:
    before = day_counts(ten_days, "raw_flights")
    days = [d.isoformat() for d in NEW_DAYS]
    args = ["raw_flights", "{}", days[0], days[-1]]

    # kill -9 of the run worker (and its step) inside the write transaction: raw_flights' new
    # rows are in, the quarantine's not
    killed = run_worker(args, "insert:raw_flights", tmp_path / "paused", kill="worker")
    assert day_counts(ten_days, "raw_flights") == before  # nothing of the killed write survived
    assert not instance.get_materialized_partitions(dg.AssetKey("raw_flights")) & set(days)

    # The embedded tier's launcher cannot see a dead worker; on Kubernetes, run monitoring
    # (deploy/dagster.yaml, values.yaml) marks the run failed when its pod is gone. As it would:
    run = instance.get_run_by_id(killed)
    assert run.status == dg.DagsterRunStatus.STARTED
    instance.report_run_failed(run, "run worker killed (kill -9)")
    done = run_worker(["--reexecute", killed])
    run = instance.get_run_by_id(done)
    assert run.status == dg.DagsterRunStatus.SUCCESS and run.parent_run_id == killed
    after = day_counts(ten_days, "raw_flights")
    landing = Path(os.environ["FACTORY_DATA_DIR"])
    assert {d: after[d] for d in days} == {
        d.isoformat(): landed_rows(landing, "flights", d) for d in NEW_DAYS
    }
    assert {d: n for d, n in after.items() if d not in days} == before
    assert instance.get_materialized_partitions(dg.AssetKey("raw_flights")) >= set(days)


def _retried(instance: dg.DagsterInstance) -> bool:
    return any(
        e.dagster_event.event_type_value == "STEP_UP_FOR_RETRY"
        for run in instance.get_runs()
        for e in instance.all_logs(run.run_id)
        if e.dagster_event
    )


@pytest.mark.slow
def test_dbt_meeting_a_busy_catalog_retries_with_backoff_and_readers_never_stop_it(
    ten_days: Path,
    defs: dg.Definitions,
    instance: dg.DagsterInstance,
) -> None:
    # Another process writes to the lake's SQLite catalog and holds its write lock until
    # released; a notebook has the lake open and reads. dbt reads on, fails at its first commit
    # ("database is locked") and asks for a retry with WAREHOUSE_RETRY's backoff; the reader is
    # never in the way. (Python assets fail into their RetryPolicy the same way.)
    script = (
        "import sqlite3, sys, time; c = sqlite3.connect(sys.argv[1], isolation_level=None);"
        " c.execute('begin immediate'); print('held', flush=True); time.sleep(120)"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", script, str(ten_days)], stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout.readline().strip() == "held"
    with connect(ten_days, read_only=True) as notebook:
        before = notebook.execute("select count(*) from fct_flights").fetchall()
        with ThreadPoolExecutor(1) as pool:
            selection = ["stg_nycflights__flights", "fct_flights"]
            run = pool.submit(run_assets, defs, selection, instance, LAST, LAST)
            deadline = time.monotonic() + 240
            while not _retried(instance):  # the step met the busy catalog and waits to retry
                assert not run.done() and time.monotonic() < deadline, "never met the lock"
                time.sleep(0.2)
            holder.kill()
            holder.wait(timeout=30)
            result = run.result(timeout=300)
        assert notebook.execute("select count(*) from fct_flights").fetchall() == before

    assert result.success
    retries = [e for e in result.all_events if e.event_type_value == "STEP_UP_FOR_RETRY"]
    assert retries and all(
        "database is locked" in str(e.event_specific_data.error).lower() for e in retries
    )
    restarted = [e for e in result.all_events if e.event_type_value == "STEP_RESTARTED"]
    assert len(restarted) == len(retries)  # each retry was attempted; the last one succeeded
    assert {e.step_key for e in retries} == {"warehouse_dbt_build"}
