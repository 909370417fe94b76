"""A step that opens the warehouse yields the CPU: its process and later threads run nicer."""

import json
import subprocess
import sys

import pytest

from tests.conftest import ROOT

# a step in a fresh process (this one may have been made nicer by earlier in-process runs)
STEP = """
import json, os, sys, threading
import dagster as dg
from factory_assets.resources import Warehouse

@dg.asset
def probe(duckdb: Warehouse) -> dict:
    seen = {}
    worker = threading.Thread(target=lambda: seen.update(thread=os.getpriority(os.PRIO_PROCESS, 0)))
    worker.start()
    worker.join()
    return {"step": os.getpriority(os.PRIO_PROCESS, 0), **seen}

before = os.getpriority(os.PRIO_PROCESS, 0)
resource = Warehouse(catalog=sys.argv[1], step_nice=int(sys.argv[2]))
result = dg.materialize([probe], resources={"duckdb": resource})
print(json.dumps({"before": before, **result.output_for_node("probe")}))
"""


def _step(tmp_path, nice: int) -> dict:  # noqa: ANN001
    done = subprocess.run(
        [sys.executable, "-c", STEP, str(tmp_path / "warehouse.sqlite"), str(nice)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(sys.platform == "win32", reason="Unix niceness")
def test_a_warehouse_step_and_the_threads_it_starts_run_nicer(tmp_path) -> None:  # noqa: ANN001
    seen = _step(tmp_path, 15)
    assert seen["before"] < 15
    assert seen["step"] == 15
    assert seen["thread"] == 15  # DuckDB's, dbt's and torch's workers start after: as nice


def test_nice_zero_leaves_the_step_as_it_was(tmp_path) -> None:  # noqa: ANN001
    seen = _step(tmp_path, 0)
    assert seen["step"] == seen["thread"] == seen["before"]
