"""`dg check defs`, the command an analyst runs, accepts a segmented model spec."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
MODELS = ROOT / "factory_assets" / "defs" / "models"


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
            [str(Path(sys.executable).parent / "dg"), "check", "defs"],
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
