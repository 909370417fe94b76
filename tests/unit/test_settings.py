"""One settings module: every variable declared there, parsed one way, defaults without exports."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from factory_assets.settings import (
    InstanceSettings,
    Settings,
    SettingsError,
    dagster_home,
    declared,
    settings,
)
from factory_assets.spec_docs import tables

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def scrubbed(monkeypatch: pytest.MonkeyPatch) -> None:
    """No variable of the settings exported (and no project .env read)."""
    for name in declared():
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setitem(Settings.model_config, "env_file", None)


def test_every_variable_is_a_row_of_the_readme_table() -> None:
    # that the README holds the generated tables: tests/unit/test_spec_docs.py
    for name in declared():
        assert f"| `{name}` |" in tables()["settings"], name


def test_with_nothing_exported_the_stores_are_the_project_folders(scrubbed: None) -> None:
    current = settings()
    assert current.data_dir == ROOT / "data"
    assert current.warehouse == f"sqlite:{ROOT / '.factory' / 'warehouse.sqlite'}"
    assert current.lake().data_path == f"{ROOT / '.factory' / 'warehouse.sqlite.files'}/"
    assert current.mlflow_tracking_uri == f"sqlite:///{ROOT / '.factory' / 'mlflow.db'}"
    assert current.online_dir == ROOT / ".factory" / "online"
    assert current.executor == "multiprocess" and not current.dbt_subprocess
    assert current.retrain_overrides() == {}


def test_unset_stores_follow_the_state_dir(
    scrubbed: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FACTORY_STATE_DIR", str(tmp_path))
    monkeypatch.setenv("FACTORY_REPORTS_DIR", str(tmp_path / "elsewhere"))
    monkeypatch.setenv("FACTORY_RETRAIN_TRAIN_DAYS", "60")
    current = settings()
    assert current.warehouse == f"sqlite:{tmp_path / 'warehouse.sqlite'}"
    assert current.results_dir == tmp_path / "model_results"
    assert current.reports_dir == tmp_path / "elsewhere"
    assert current.mlflow_artifacts == (tmp_path / "mlartifacts").as_uri()
    assert current.retrain_overrides() == {"train_days": 60}


def test_the_warehouse_is_a_lake_catalog_a_path_or_postgres(
    scrubbed: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("FACTORY_WAREHOUSE", "lake/catalog.sqlite")  # relative: made absolute
    lake = settings().lake()
    assert settings().warehouse == f"sqlite:{tmp_path / 'lake' / 'catalog.sqlite'}"
    assert (lake.kind, lake.data_path, lake.beside) == (
        "sqlite", f"{tmp_path / 'lake' / 'catalog.sqlite.files'}/", True
    )  # fmt: skip
    monkeypatch.setenv("FACTORY_WAREHOUSE_DATA", str(tmp_path / "parquet"))
    lake = settings().lake()
    assert (lake.data_path, lake.beside) == (f"{tmp_path / 'parquet'}/", False)
    monkeypatch.setenv("FACTORY_WAREHOUSE", "postgres:dbname=lake host=127.0.0.1")
    monkeypatch.setenv("FACTORY_WAREHOUSE_DATA", "s3://bucket/lake")
    current = settings()
    assert current.warehouse == "postgres:dbname=lake host=127.0.0.1"
    lake = current.lake()
    assert (lake.kind, lake.catalog, lake.data_path) == (
        "postgres", "dbname=lake host=127.0.0.1", "s3://bucket/lake/"
    )  # fmt: skip


def test_a_duckdb_warehouse_is_refused_naming_the_migration(
    scrubbed: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FACTORY_WAREHOUSE", str(tmp_path / "warehouse.duckdb"))
    with pytest.raises(SettingsError, match="factory migrate-warehouse") as raised:
        settings()
    assert "FACTORY_WAREHOUSE" in str(raised.value)


def test_a_postgres_catalog_without_a_data_path_is_refused(
    scrubbed: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FACTORY_WAREHOUSE", "postgres:dbname=lake host=127.0.0.1")
    monkeypatch.setenv("FACTORY_SERVE_TOKEN", "s3cret-token")
    with pytest.raises(SettingsError, match="FACTORY_WAREHOUSE_DATA") as raised:
        settings()
    assert "s3cret" not in str(raised.value)  # the error of a check across fields shows no input


@pytest.mark.parametrize(
    ("value", "expected"),
    [("1", True), ("true", True), ("YES", True), ("on", True)]
    + [("0", False), ("false", False), ("Off", False), ("", False)],
)
def test_every_boolean_reads_the_same_words(
    scrubbed: None, monkeypatch: pytest.MonkeyPatch, value: str, expected: bool
) -> None:
    monkeypatch.setenv("FACTORY_SERVE_SHADOW", value)
    monkeypatch.setenv("FACTORY_DBT_SUBPROCESS", value)
    current = settings()
    assert current.serve_shadow is expected and current.dbt_subprocess is expected


def test_a_bad_value_names_its_variable(scrubbed: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FACTORY_SERVE_SHADOW", "maybe")
    monkeypatch.setenv("FACTORY_EXECUTOR", "threads")
    with pytest.raises(SettingsError, match="FACTORY_SERVE_SHADOW='maybe'") as raised:
        settings()
    assert "FACTORY_EXECUTOR='threads'" in str(raised.value)


def test_secrets_are_not_shown(scrubbed: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FACTORY_SERVE_TOKEN", "s3cret-token")
    monkeypatch.setenv("FACTORY_MLFLOW_TRACKING_URI", "postgresql://u:s3cret-pw@db/mlflow")
    monkeypatch.setenv("FACTORY_SERVE_MODELS", "flights, cancellations")
    current = settings()
    assert "s3cret" not in repr(current)
    assert current.serve_token.get_secret_value() == "s3cret-token"
    assert current.serve_models == ("flights", "cancellations")


def _names_in(path: Path, pattern: str) -> set[str]:
    return set(re.findall(pattern, path.read_text()))


def test_every_variable_the_project_reads_is_declared() -> None:
    names = _names_in(ROOT / "dagster.yaml", r"env: (\w+)")
    names |= _names_in(ROOT / "deploy" / "dagster.yaml", r"env: (\w+)")
    names |= _names_in(ROOT / "dbt_project" / "profiles.yml", r"env_var\('(\w+)'")
    for path in (ROOT / "factory_assets").rglob("*.py"):
        names |= _names_in(path, r"\b(FACTORY_[A-Z0-9_]*[A-Z0-9])\b(?!_\*)")
    assert names >= {"DAGSTER_PG_HOST", "FACTORY_WAREHOUSE", "FACTORY_DBT_SUBPROCESS"}
    assert names - declared() == set()


def test_only_the_settings_module_reads_the_environment() -> None:
    allowed = {
        "settings.py",  # the reader
        "defs/resources.py",  # set variables as dg.EnvVar
        "components/dbt_in_process.py",  # the environment in the parsed project's fingerprint
        "console.py",  # quiets the libraries' own output through their variables, not ours
        "execution.py",  # compares the whole environment, to restart the step forkserver
    }
    readers = {
        str(path.relative_to(ROOT / "factory_assets"))
        for path in (ROOT / "factory_assets").rglob("*.py")
        if re.search(r"os\.environ|getenv|EnvVar\(", path.read_text())
    }
    assert readers <= allowed


def test_loading_the_definitions_writes_no_variable_and_components_import_no_defs() -> None:
    script = (
        "import os, sys\n"
        "import factory_assets.components.model_line.build, factory_assets.components.warehouse\n"
        "import factory_assets.components.landing_source, factory_assets.components.model_spec\n"
        "assert not [m for m in sys.modules if m.startswith('factory_assets.defs')], 'cycle'\n"
        "before = dict(os.environ)\n"
        "from factory_assets.definitions import defs\n"
        "defs()\n"
        "assert dict(os.environ) == before, set(os.environ.items()) ^ set(before.items())\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FACTORY_", "DAGSTER_HOME"))}
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-3000:]


def test_factory_commands_default_to_the_project_instance(
    scrubbed: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from factory_assets.cli import _instance

    monkeypatch.setitem(InstanceSettings.model_config, "env_file", None)
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    monkeypatch.setenv("FACTORY_STATE_DIR", str(tmp_path))
    assert dagster_home() == tmp_path / "dagster_home"
    with _instance() as instance:  # make's instance: the project's dagster.yaml copied there
        assert instance.root_directory == str(tmp_path / "dagster_home")
        assert (tmp_path / "dagster_home" / "dagster.yaml").read_text() == (
            ROOT / "dagster.yaml"
        ).read_text()
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "elsewhere"))
    assert dagster_home() == tmp_path / "elsewhere"
