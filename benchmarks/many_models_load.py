"""Definitions load time of the project with the many-models spec, in fresh processes."""

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.many_models_spec import (
    CATEGORICAL,
    NUMERIC,
    PROJECT_ROOT,
    SPEC_NAME,
    TABLE,
    spec_attributes,
)

LOAD_REPEATS = 3


LOAD_SCRIPT = """
import json, sys, time
from pathlib import Path
start = time.perf_counter()
import dagster as dg
from factory_assets.definitions import defs as project
from factory_assets.private_api import repository_snapshot
from factory_assets.lib import catalog
imported = time.perf_counter()
defs = project()
if len(sys.argv) > 1:  # a dg project folder with the spec, and the columns of its table
    sys.path.insert(0, sys.argv[1])
    catalog.PYTHON_TABLES[sys.argv[2]] = tuple(json.loads(sys.argv[3]))
    catalog.PYTHON_FACTS[sys.argv[2]] = {"is_late": catalog.ColumnFacts(data_type="boolean")}
    spec = dg.ComponentTree.for_project(Path(sys.argv[1])).build_defs()
    parts = ("assets", "asset_checks", "jobs", "schedules", "sensors")
    spec = dg.Definitions(**{p: list(getattr(spec, p) or []) for p in parts})  # one tree a merge
    defs = dg.Definitions.merge(defs, spec)
repository_snapshot(defs)  # what a code server sends the UI
repo = defs.get_repository_def()
done = time.perf_counter()
keys = repo.asset_graph.get_all_asset_keys()
print(json.dumps({"import_s": imported - start, "load_s": done - imported, "assets": len(keys)}))
"""
PYPROJECT = """[tool.dg]
directory_type = "project"

[tool.dg.project]
root_module = "many_models_bench"
code_location_name = "many_models_bench"
"""


def spec_project(root: Path, values: list[str]) -> Path:
    """A dg project folder whose defs/ holds the benchmark's spec as a defs.yaml."""
    import yaml

    project = root / "spec_project"
    folder = project / "many_models_bench" / "defs" / SPEC_NAME
    folder.mkdir(parents=True)
    (project / "pyproject.toml").write_text(PYPROJECT)
    for package in (folder.parents[1], folder.parent):
        (package / "__init__.py").write_text("")
    document = {
        "type": "factory_assets.components.model_spec.ModelSpec",
        "attributes": spec_attributes(values),
    }
    (folder / "defs.yaml").write_text(yaml.safe_dump(document, sort_keys=False))
    return project


def load_times(root: Path, values: list[str]) -> dict:
    """Definitions load in fresh processes: the project alone, then with the spec; alternated."""
    project = spec_project(root, values)
    columns = ["flight_id", "flight_date", "is_late", "segment", *CATEGORICAL, *NUMERIC]
    env = {
        **os.environ,
        "PYTHONPATH": str(PROJECT_ROOT),
        "FACTORY_STATE_DIR": str(root / "load_state"),  # resources point here, not at .factory
        "DAGSTER_HOME": str(root / "load_dagster_home"),
    }
    runs = {"baseline": [], "with_spec": []}
    args = {"baseline": [], "with_spec": [str(project), TABLE, json.dumps(columns)]}
    for _ in range(LOAD_REPEATS):
        for kind in runs:
            start = time.perf_counter()
            done = subprocess.run(
                [sys.executable, "-c", LOAD_SCRIPT, *args[kind]],
                cwd=PROJECT_ROOT, env=env, capture_output=True, text=True,
            )  # fmt: skip
            if done.returncode:
                raise RuntimeError(f"loading definitions ({kind}) failed:\n{done.stderr[-3000:]}")
            process_s = time.perf_counter() - start
            runs[kind].append({**json.loads(done.stdout.splitlines()[-1]), "process_s": process_s})
    return {
        kind: {
            **{k: statistics.median(r[k] for r in rs) for k in ("load_s", "import_s", "process_s")},
            "assets": rs[0]["assets"],
            "all_load_s": [r["load_s"] for r in rs],
        }
        for kind, rs in runs.items()
    }
