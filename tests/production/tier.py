"""Helpers of the production-tier tests: the daemon, queued runs, and what the runs left."""

import datetime as dt
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
import polars as pl
import pytest

from factory_assets.examples.nycflights import daily_file
from factory_assets.lib.lake import Lake, open_lake
from tests.conftest import ROOT
from tests.production.faults import PAUSE_VAR

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


def day_counts(
    warehouse: Path | str, table: str, column: str = "_partition_date", data: str | None = None
) -> dict:
    """Rows of ``table`` per day (``column``) in the lake ``warehouse`` (and ``data``) names."""
    with Lake.parse(warehouse, data).connect(read_only=True) as conn:
        rows = conn.execute(f"select {column}::varchar, count(*) from {table} group by 1")
        return dict(rows.fetchall())


def landed_rows(landing: Path, source: str, day: dt.date) -> int:
    return pl.read_csv(daily_file(landing / "landing", source, day), infer_schema=False).height


def check_backfill(summary: dict, env: dict, days: list[dt.date], runs: int) -> dict[str, dict]:
    """Every step succeeded; each day's rows are its landing file's, once. The final counts
    per day of fct_flights (``fct``) and raw_flights (``raw``)."""
    assert summary["statuses"] == ["SUCCESS"] * runs, summary
    assert summary["step_failures"] == 0, summary
    assert summary["most_steps_at_once"] > 1  # steps of different runs overlapped
    landing = Path(env["FACTORY_DATA_DIR"])
    landed = {d.isoformat(): landed_rows(landing, "flights", d) for d in days}
    warehouse, data = env["FACTORY_WAREHOUSE"], env.get("FACTORY_WAREHOUSE_DATA")
    raw = day_counts(warehouse, "raw_flights", data=data)
    assert raw == landed
    built = day_counts(warehouse, "fct_flights", "flight_date", data)
    assert built == landed
    assert day_counts(warehouse, "flight_features", "flight_date", data) == landed
    return {"fct": built, "raw": raw}


def check_reads(reads: list[dict], final: dict[str, int], days: list[dt.date]) -> None:
    """No read failed; each saw every day whole (its final count) or not at all."""
    assert [r["error"] for r in reads if "error" in r] == []
    for read in reads:
        assert {day: final["fct"].get(day) for day in read["days"]} == read["days"], read
        assert {day: final["raw"].get(day) for day in read["raw_days"]} == read["raw_days"]
    # the reads went on while the runs loaded their days: some saw only part of them
    assert any(0 < len(r["raw_days"]) < len(days) for r in reads)
    assert any(r["days"] for r in reads)  # and fct_flights once built


def guard_race(lake: Lake) -> Exception:
    """Two transactions update fct_flights' build guard (dbt_project/macros/lake_build_guard.sql)
    as two overlapping dbt builds would; the first commits. The error the second one's commit
    raised (the test fails if it committed)."""
    first, second = open_lake(lake), open_lake(lake)
    try:
        for conn in (first, second):
            conn.execute("begin")
            conn.execute("update _build_guard.fct_flights set builds = builds + 1")
        first.execute("commit")
        with pytest.raises(Exception) as lost:  # noqa: PT011 (duckdb's TransactionException)
            second.execute("commit")
        return lost.value
    finally:
        first.close()
        second.close()
