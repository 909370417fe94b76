"""A backfill of the flights line as 4 runs at once: DuckLake against the DuckDB file's pool of one.

60 days (``FACTORY_BENCH_DAYS``) through ingest -> dbt (with its tests) -> features, split into
4 runs started at once, each a process with the project's multiprocess executor
(``tests/production/backfill.py``), after one run of the reference tables (not timed). Baseline:
the commit before the lake (one DuckDB file, every warehouse step in the ``warehouse`` pool of
one: the 4 runs' steps take turns). Candidate: this checkout (a DuckLake on a SQLite catalog,
steps side by side, only dbt builds one at a time). One backfill each (minutes), baseline first;
the machine's load is recorded beside the times.
"""

import datetime as dt
import os
import tempfile
from pathlib import Path

import polars as pl

from benchmarks.common import write_result
from benchmarks.lake_sides import ROOT, commit, export_baseline, landing, load, side_env
from tests.production.backfill import run_backfill

NAME = "warehouse_concurrency"
FIRST = dt.date(2013, 1, 1)
DAYS = int(os.environ.get("FACTORY_BENCH_DAYS", "60"))
RUNS = 4
GOAL = 1.5  # DuckDB file's backfill seconds / DuckLake's


def _side(tree: Path, folder: Path, warehouse: str, data: Path) -> dict:
    """One backfill on one side: the runs' summary and the load around it."""
    state = folder / warehouse.split(".")[-1]
    env = side_env(tree, state, state / warehouse, data)
    before = load()
    summary = run_backfill(env, FIRST, FIRST + dt.timedelta(days=DAYS - 1), RUNS, state, tree)
    return {**summary, "load_before": before, "load_after": load()}


def main() -> None:
    """Run both backfills and write results/warehouse_concurrency.json."""
    from factory_assets.examples.nycflights import daily_file

    with tempfile.TemporaryDirectory(prefix="warehouse_concurrency_") as tmp:
        folder = Path(tmp)
        data = landing(folder / "data", FIRST, DAYS)
        rows = sum(
            pl.read_csv(daily_file(data / "landing", "flights", FIRST + dt.timedelta(days=i)),
                        infer_schema=False).height
            for i in range(DAYS)
        )  # fmt: skip
        tree = export_baseline(folder)
        baseline = _side(tree, folder, "warehouse.duckdb", data)
        print(f"DuckDB file, pool of one: {baseline}", flush=True)
        candidate = _side(ROOT, folder, "warehouse.sqlite", data)
        print(f"DuckLake, side by side: {candidate}", flush=True)
    record = write_result(
        NAME,
        baseline=f"one DuckDB file, warehouse pool of one (commit {commit()[:7]})",
        candidate="DuckLake (SQLite catalog), steps side by side, dbt builds one at a time",
        baseline_times=[baseline["wall_s"]],
        candidate_times=[candidate["wall_s"]],
        goal=GOAL,
        rows=rows,
        extra={
            "baseline_commit": commit(),
            "days": DAYS,
            "runs_at_once": RUNS,
            "line": "ingest (flights, outcomes, weather) -> dbt build with tests -> features",
            "baseline_runs": baseline,
            "candidate_runs": candidate,
            "note": "one backfill per side on a 2-core machine shared with other work: "
            "see load_before/load_after (1, 5, 15 min load averages)",
        },
    )
    print(f"{NAME}: {record['ratio']:.2f}x (goal {GOAL}x)")


if __name__ == "__main__":
    main()
