"""Helpers of the production-tier tests: the daemon, queued runs, and what the runs left."""

import datetime as dt
import itertools
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import duckdb
import polars as pl

from factory_assets import private_api
from factory_assets.examples.nycflights import daily_file
from tests.conftest import ROOT
from tests.production.faults import PAUSE_VAR

LOCK_MARKERS = ("could not set lock", "conflicting lock", "database is locked")
TERMINAL = {dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED}


@contextmanager
def dagster_daemon(log: Path) -> Iterator[subprocess.Popen]:
    """The real ``dagster-daemon run`` on the instance of $DAGSTER_HOME; stopped on exit."""
    with log.open("w") as out:
        proc = subprocess.Popen(
            [str(Path(sys.executable).parent / "dagster-daemon"), "run", "-w", "workspace.yaml"],
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its code server and run workers share its process group
        )
        try:
            yield proc
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                pass
            # code servers the daemon started can outlive its own shutdown: end the whole group
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait(timeout=10)


def run_worker(
    args: list[str], pause: str | None = None, marker: Path | None = None, kill: str = "step"
) -> str:
    """Run the fault-injecting run worker; at ``pause`` kill -9 the step or the whole worker.

    ``kill="worker"`` kills the run worker's process group (worker and step subprocess), as a
    lost pod or node would. Returns the run id.
    """
    env = dict(os.environ)
    if pause:
        env[PAUSE_VAR] = f"{pause}={marker}"
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.production.faults", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group, so the test can kill all of it
    )
    if pause:
        deadline = time.monotonic() + 240
        while not (marker.exists() and marker.read_text()):
            assert proc.poll() is None, proc.communicate()[0][-3000:]
            assert time.monotonic() < deadline, f"never reached {pause}"
            time.sleep(0.2)
        step = int(marker.read_text())
        if kill == "worker":
            for pid in (proc.pid, step):  # all the pod's processes, as a lost pod or node
                os.killpg(os.getpgid(pid), signal.SIGKILL)
            proc.wait(timeout=30)
            with dg.DagsterInstance.get() as instance:  # the worker never said: the latest run
                return instance.get_runs(limit=1)[0].run_id
        os.kill(step, signal.SIGKILL)
    try:
        out = proc.communicate(timeout=600)[0]
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        raise
    found = re.search(r"^RUN (\S+) (\S+)$", out, re.MULTILINE)
    assert found, out[-3000:]
    return found.group(1)


def day_counts(path: Path, table: str) -> dict[str, int]:
    with duckdb.connect(str(path), read_only=True) as conn:
        rows = conn.execute(
            f"select _partition_date::varchar, count(*) from {table} group by 1"
        ).fetchall()
    return dict(rows)


def landed_rows(landing: Path, source: str, day: dt.date) -> int:
    return pl.read_csv(daily_file(landing / "landing", source, day), infer_schema=False).height


def submit_runs(
    instance: dg.DagsterInstance,
    ranges: list[tuple[dt.date, dt.date]],
    assets: list[dg.AssetKey],
    checks: list[dg.AssetCheckKey],
) -> list[str]:
    """Queue one run per day range, as a sensor's RunRequest would (the daemon launches them)."""
    requests = [
        dg.RunRequest(
            asset_selection=assets,
            asset_check_keys=checks,
            tags={
                "dagster/asset_partition_range_start": first.isoformat(),
                "dagster/asset_partition_range_end": last.isoformat(),
            },
        )
        for first, last in ranges
    ]
    return private_api.submit_runs(instance, ROOT / "workspace.yaml", requests)


def wait_for(instance: dg.DagsterInstance, run_ids: list[str], timeout: float) -> list:
    """The runs' records once all are finished (or the timeout passes)."""
    deadline = time.monotonic() + timeout
    while True:
        records = instance.get_run_records(dg.RunsFilter(run_ids=run_ids))
        if all(r.dagster_run.status in TERMINAL for r in records) or time.monotonic() > deadline:
            return records
        time.sleep(2)


def most_at_once(intervals: list[tuple[float, float]]) -> int:
    """The largest number of intervals open at the same instant."""
    edges = sorted([(start, 1) for start, _ in intervals] + [(end, -1) for _, end in intervals])
    return max(itertools.accumulate(step for _, step in edges))


def lock_errors(instance: dg.DagsterInstance, run_ids: list[str]) -> list[str]:
    """Every event of the runs that mentions a DuckDB file lock."""
    found = []
    for run_id in run_ids:
        for event in instance.all_logs(run_id):
            text = f"{event.user_message or ''} {event.dagster_event or ''}".lower()
            if any(marker in text for marker in LOCK_MARKERS):
                found.append(f"{run_id[:8]}: {text[:200]}")
    return found
