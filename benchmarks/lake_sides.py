"""The two sides of the lake benchmarks: today's DuckLake and the DuckDB-file warehouse before it.

The baseline is the commit before the lake (``BASELINE_COMMIT``: one DuckDB file, every warehouse
step in the ``warehouse`` pool of one), exported with ``git archive`` into a temporary folder,
its dbt project prepared as ``make install`` does, and run on the same venv. Both sides run the
same driver, ``tests/production/backfill.py`` (copied into the export): a backfill as several
runs at once, each run a process with the project's multiprocess executor.
"""

import datetime as dt
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BASELINE_COMMIT = "4bb9fd9"  # "Pin duckdb 1.5.5 …": the last DuckDB-file warehouse
DRIVER = Path("tests/production/backfill.py")
BIN = Path(sys.executable).parent
QUIET = {"DO_NOT_TRACK": "true", "MLFLOW_DISABLE_TELEMETRY": "true",
         "DAGSTER_DISABLE_TELEMETRY": "1", "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
         "OMP_NUM_THREADS": "1"}  # fmt: skip


def commit() -> str:
    """The baseline commit's full hash."""
    out = subprocess.run(["git", "-C", str(ROOT), "rev-parse", BASELINE_COMMIT],
                         capture_output=True, text=True, check=True)  # fmt: skip
    return out.stdout.strip()


def export_baseline(folder: Path) -> Path:
    """The baseline's tree in ``folder/baseline``, prepared to run (dbt parse, defs state)."""
    tree = folder / "baseline"
    tree.mkdir()
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", commit()],
                             capture_output=True, check=True)  # fmt: skip
    subprocess.run(["tar", "-x", "-C", str(tree)], input=archive.stdout, check=True)
    shutil.copy(ROOT / DRIVER, tree / DRIVER)
    env = side_env(tree, folder / "prepare", folder / "prepare" / "warehouse.duckdb", folder)
    dbt = tree / "dbt_project"
    subprocess.run([str(BIN / "dbt"), "parse", "--quiet", "--profiles-dir", "."],
                   cwd=dbt, env=env, check=True)  # fmt: skip
    subprocess.run([str(BIN / "dg"), "utils", "refresh-defs-state"], cwd=tree, env=env, check=True)
    return tree


def side_env(tree: Path, state: Path, warehouse: Path, data: Path) -> dict[str, str]:
    """The environment of one side: its checkout, instance (its own dagster.yaml), stores."""
    home = state / "dagster_home"
    home.mkdir(parents=True, exist_ok=True)
    shutil.copy(tree / "dagster.yaml", home / "dagster.yaml")
    return {
        **os.environ,
        **QUIET,
        "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
        "PYTHONPATH": str(tree),
        "DAGSTER_HOME": str(home),
        "FACTORY_STATE_DIR": str(state),
        "FACTORY_WAREHOUSE": str(warehouse),
        "FACTORY_DATA_DIR": str(data),
        "FACTORY_MLFLOW_TRACKING_URI": f"sqlite:///{state / 'mlflow.db'}",
        "FACTORY_MLFLOW_ARTIFACTS": (state / "mlartifacts").as_uri(),
    }


def landing(folder: Path, first: dt.date, days: int) -> Path:
    """A data folder whose landing zone holds ``days`` days of the flights from ``first``."""
    from factory_assets.examples.nycflights import lay_out_landing

    lay_out_landing(folder / "landing", first, first + dt.timedelta(days=days - 1))
    return folder


def load() -> list[float]:
    """The machine's 1, 5 and 15 minute load averages (shared by other work)."""
    return [round(x, 1) for x in os.getloadavg()]
