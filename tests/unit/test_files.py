"""Project walks skip state folders; dbt's per-build target folders are kept to a bound."""

import os
from pathlib import Path

import pytest

from factory_assets.components.dbt_in_process import prune_targets
from factory_assets.lib.files import project_files
from factory_assets.settings import env_name


def _touch(path: Path, mtime: int | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("x")
    if mtime is not None:
        os.utime(path.parent, (mtime, mtime))
    return path


def test_project_files_do_not_enter_state_caches_or_skipped_folders(tmp_path: Path) -> None:
    wanted = [_touch(tmp_path / "ingest" / "flights" / "defs.yaml"), _touch(tmp_path / "defs.yaml")]
    for hidden in (".local_defs_state/x/project", "__pycache__", "target/run"):
        _touch(tmp_path / hidden / "defs.yaml")
    _touch(tmp_path / "ingest" / "flights" / "notes.md")
    assert project_files(tmp_path, ("defs.yaml",), skip=("target",)) == sorted(wanted)
    both = project_files(tmp_path, ("*.yaml", "*.md"), skip=("target",))
    assert both == sorted([*wanted, tmp_path / "ingest" / "flights" / "notes.md"])


@pytest.fixture
def target(tmp_path: Path) -> Path:
    """dbt's target: 25 builds' folders (oldest first), and dbt's own files and folders."""
    folder = tmp_path / "target"
    for i in range(25):
        _touch(folder / f"warehouse_dbt_build-{i:07x}-abcdef{i % 10}" / "run_results.json", i)
    _touch(folder / "0a1b2c3" / "dbt.log", 30)  # dagster-dbt's name outside a run
    for own in ("compiled", "run", "warehouse_dbt_build-notahex-abcdef0"):
        _touch(folder / own / "a.sql", 0)
    _touch(folder / "manifest.json")
    return folder


def test_prune_keeps_the_newest_builds_and_nothing_else_is_touched(target: Path) -> None:
    removed = prune_targets(target, keep=20)
    assert sorted(p.name for p in removed) == [
        f"warehouse_dbt_build-{i:07x}-abcdef{i}" for i in range(6)
    ]
    left = {p.name for p in target.iterdir()}
    assert "0a1b2c3" in left and "warehouse_dbt_build-0000018-abcdef4" in left
    assert {"compiled", "run", "warehouse_dbt_build-notahex-abcdef0", "manifest.json"} <= left
    assert len(left) == 20 + 4


def test_prune_reads_its_bound_from_the_environment(
    target: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(env_name("dbt_keep_targets"), "2")
    kept = {p.name for p in target.iterdir()} - {p.name for p in prune_targets(target)}
    assert "0a1b2c3" in kept and "warehouse_dbt_build-0000018-abcdef4" in kept
    assert len(kept) == 2 + 4
