"""`dg check defs`, the command an analyst runs: from a clone with nothing exported, and on a
segmented model spec."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
MODELS = ROOT / "factory_assets" / "defs" / "models"
DG = str(Path(sys.executable).parent / "dg")


@pytest.mark.slow
def test_dg_check_defs_needs_no_exported_variable() -> None:
    # The README's command as a reader runs it first: no FACTORY_* and no DAGSTER_HOME (dg then
    # uses a temporary instance from the project's dagster.yaml), the settings' defaults only.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FACTORY_", "DAGSTER_HOME"))}
    done = subprocess.run(
        [DG, "check", "defs"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "All definitions loaded successfully" in done.stdout + done.stderr
    assert not list(ROOT.glob(".tmp_dagster_home_*"))  # the temporary instance is gone


@pytest.mark.slow
def test_a_segmented_spec_passes_dg_check_defs(tmp_path: Path) -> None:
    spec = yaml.safe_load((MODELS / "cancellations" / "defs.yaml").read_text())
    attributes = spec["attributes"]
    attributes["name"] = "origin_check"
    attributes.pop("schedule", None)
    attributes["segments"] = {
        "column": "origin",
        "values": ["EWR", "JFK", "LGA"],
        "min_rows": 100,
        "fallback": "cancellations",
    }
    folder = MODELS / "origin_check"
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(ROOT / "dagster.yaml", home / "dagster.yaml")
    env = {**os.environ, "DAGSTER_HOME": str(home)}
    folder.mkdir()
    try:
        (folder / "defs.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
        done = subprocess.run(
            [DG, "check", "defs"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
    finally:
        shutil.rmtree(folder)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "All definitions loaded successfully" in done.stdout + done.stderr
