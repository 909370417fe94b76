"""`make year` against the commit before the lake: the same replays, side by side, as a ratio.

For each dataset (``FACTORY_BENCH_YEAR_DATASETS``, default every shipped one, as ``make year``)
both sides land it and run ``factory replay --dataset <d> --days 0 --batch-days 7`` in a state
folder of their own: the baseline is ``BASELINE_COMMIT`` (one DuckDB file, every warehouse step in
a pool of one) exported and run on the same venv (``lake_sides.py``), the candidate this
checkout. Baseline first, then the candidate, one at a time. The seconds, their ratio and the
load before and after each side go to ``results/year_time.json``. Goal: the candidate within
15 % of the baseline. Everything the line gained since (a GBDT baseline beside every training,
drift calibration, refits) is inside the candidate's time: the ratio is of the product, not of
the lake alone.

    FACTORY_BENCH_YEAR_DATASETS=nycflights python -m benchmarks year_time
"""

import json
import os
import subprocess
import tempfile
import time
from pathlib import Path

from benchmarks.bench_model_quality import FACTORY, LANDING
from benchmarks.common import RESULTS_DIR, machine
from benchmarks.lake_sides import BASELINE_COMMIT, ROOT, commit, export_baseline, load, side_env

NAME = "year_time"
DATASETS = os.environ.get("FACTORY_BENCH_YEAR_DATASETS", "nycflights,chicago,screenings")
GOAL = 1.15


def _year(tree: Path, state: Path, dataset: str) -> dict:
    """Land ``dataset`` and replay its year in ``tree`` with every store under ``state``."""
    warehouse = state / ("warehouse.sqlite" if tree == ROOT else "warehouse.duckdb")
    env = side_env(tree, state, warehouse, state / "data")
    before, started = load(), time.perf_counter()
    land = [*FACTORY, "landing", "--dataset", dataset, *LANDING.get(dataset, [])]
    subprocess.run(land, env=env, cwd=tree, check=True, capture_output=True)
    run = [*FACTORY, "replay", "--dataset", dataset, "--days", "0", "--batch-days", "7"]
    done = subprocess.run(run, env=env, cwd=tree, check=False, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    failed = [line for line in done.stdout.splitlines() if "FAILURE" in line]
    return {"seconds": round(seconds, 1), "returncode": done.returncode, "failed_runs": failed[:10],
            "load": [before, load()]}  # fmt: skip


def main() -> None:
    """Both sides for each dataset; write results/year_time.json."""
    sides: dict[str, dict] = {"baseline": {}, "candidate": {}}
    with tempfile.TemporaryDirectory(prefix="year_time_") as tmp:
        folder = Path(tmp)
        tree = export_baseline(folder)
        for dataset in DATASETS.split(","):
            sides["baseline"][dataset] = _year(tree, folder / "baseline_state" / dataset, dataset)
            print(f"baseline {dataset}: {sides['baseline'][dataset]}", flush=True)
            sides["candidate"][dataset] = _year(ROOT, folder / "state" / dataset, dataset)
            print(f"candidate {dataset}: {sides['candidate'][dataset]}", flush=True)
    total = {side: sum(d["seconds"] for d in per.values()) for side, per in sides.items()}
    ratio = total["candidate"] / total["baseline"]
    result = {
        "name": NAME,
        "baseline": f"one DuckDB file (commit {BASELINE_COMMIT}), same venv",
        "baseline_commit": commit(),
        "candidate": "this checkout: DuckLake (SQLite catalog), steps forked from a preloaded "
        "server",
        "command": "factory replay --dataset <d> --days 0 --batch-days 7 (landing included)",
        "datasets": DATASETS.split(","),
        "sides": sides,
        "total_s": total,
        "candidate_over_baseline": round(ratio, 3),
        "goal": f"candidate within {round(100 * (GOAL - 1))} % of the baseline",
        "goal_met": ratio <= GOAL,
        "machine": machine(),
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime()),
    }
    out = RESULTS_DIR / f"{NAME}.json"
    out.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps({k: result[k] for k in ("total_s", "candidate_over_baseline", "goal_met")}))


if __name__ == "__main__":
    main()
