"""Shared fixtures: a real landing zone, a fresh DuckDB warehouse per test, real instances.

The definitions read FACTORY_DATA_DIR and FACTORY_WAREHOUSE when they resolve resources at run
time, so each test points them at its own files with monkeypatch.
"""

import datetime as dt
import os
import shutil
import sys
from pathlib import Path

import dagster as dg
import pytest

from factory_assets.examples.nycflights import lay_out_landing
from factory_assets.lib.lake import copy_lake

ROOT = Path(__file__).resolve().parents[1]
FIRST = dt.date(2013, 1, 1)
LAST = dt.date(2013, 1, 8)  # a short week plus a day: enough history for rolling rates

# dagster-dbt finds dbt on PATH; the venv's bin comes first wherever pytest was started from.
os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
for name, value in {
    "DO_NOT_TRACK": "true",
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "DAGSTER_DISABLE_TELEMETRY": "1",
    "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
}.items():
    os.environ.setdefault(name, value)


@pytest.fixture(scope="session")
def landing_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data dir whose landing zone holds the real files of 2013-01-01 … 2013-01-08."""
    root = tmp_path_factory.mktemp("data")
    lay_out_landing(root / "landing", FIRST, LAST)
    return root


@pytest.fixture
def warehouse(tmp_path: Path, landing_root: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh warehouse (a lake's SQLite catalog), fed from the shared landing zone."""
    path = tmp_path / "warehouse.sqlite"
    monkeypatch.setenv("FACTORY_WAREHOUSE", str(path))
    monkeypatch.setenv("FACTORY_DATA_DIR", str(landing_root))
    return path


@pytest.fixture
def own_landing(
    warehouse: Path, landing_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """A private copy of the landing zone that the test may damage."""
    root = tmp_path / "data"
    shutil.copytree(landing_root, root)
    monkeypatch.setenv("FACTORY_DATA_DIR", str(root))
    return root


@pytest.fixture(scope="session", autouse=True)
def isolated_state(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Point every store at a temporary folder: tests never touch the project's .factory/.

    `make test` exports the project's own paths; they are overridden here, not inherited.
    """
    state = tmp_path_factory.mktemp("state")
    os.environ["FACTORY_STATE_DIR"] = str(state)
    os.environ["FACTORY_WAREHOUSE"] = str(state / "warehouse.sqlite")
    os.environ["FACTORY_DATA_DIR"] = str(state / "data")
    os.environ["FACTORY_MLFLOW_TRACKING_URI"] = f"sqlite:///{state / 'mlflow.db'}"
    os.environ["FACTORY_MLFLOW_ARTIFACTS"] = (state / "mlartifacts").as_uri()
    os.environ["FACTORY_ONLINE_DIR"] = str(state / "online")
    os.environ["DAGSTER_HOME"] = str(state / "dagster_home")


@pytest.fixture(scope="session")
def defs(isolated_state: None) -> dg.Definitions:
    """The project's definitions, loaded once (as a code server would)."""
    from factory_assets.definitions import defs as load

    return load()


LINE = [
    "raw_flights",
    "raw_weather",
    "raw_outcomes",
    "raw_planes",
    "raw_airports",
    "raw_airlines",
    "stg_nycflights__flights",
    "stg_nycflights__weather",
    "stg_nycflights__outcomes",
    "stg_nycflights__planes",
    "stg_nycflights__airports",
    "stg_nycflights__airlines",
    "fct_flights",
    "fct_weather_hourly",
    "dim_planes",
    "dim_airports",
    "dim_carriers",
    "flight_features",
]


@pytest.fixture(scope="session")
def built(defs, landing_root, tmp_path_factory) -> tuple[Path, dg.ExecuteInProcessResult]:  # noqa: ANN001
    """The line to flight_features run once over the test days; tests work on copies."""
    path = tmp_path_factory.mktemp("built") / "warehouse.sqlite"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FACTORY_WAREHOUSE", str(path))
        mp.setenv("FACTORY_DATA_DIR", str(landing_root))
        result = run_assets(defs, LINE)
    return path, result


@pytest.fixture
def instance(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dg.DagsterInstance:
    """A real SQLite instance configured by the project's dagster.yaml (pools included)."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(ROOT / "dagster.yaml", home / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    with dg.DagsterInstance.from_config(str(home)) as inst:
        yield inst


def run_assets(
    defs: dg.Definitions,
    selection: list[str],
    instance: dg.DagsterInstance | None = None,
    first: dt.date = FIRST,
    last: dt.date = LAST,
    checks: list[dg.AssetCheckKey] | None = None,
) -> dg.ExecuteInProcessResult:
    """Materialize ``selection`` in process over [first, last] (a single-run backfill)."""
    job = defs.resolve_implicit_global_asset_job_def().get_subset(
        asset_selection={dg.AssetKey(key) for key in selection},
        asset_check_selection=None if checks is None else set(checks),
    )
    return job.execute_in_process(
        instance=instance,
        tags={
            "dagster/asset_partition_range_start": first.isoformat(),
            "dagster/asset_partition_range_end": last.isoformat(),
        },
        raise_on_error=False,
    )


def own_stores(mp: pytest.MonkeyPatch, root: Path, built_warehouse: Path, data: Path) -> str:
    """Point the stores at ``root``: a copy of ``built_warehouse``, fresh MLflow, results and
    reports; the landing zone at ``data``. Returns the tracking URI."""
    copy_lake(built_warehouse, root / "warehouse.sqlite")
    uri = f"sqlite:///{root / 'mlflow.db'}"
    mp.setenv("FACTORY_WAREHOUSE", str(root / "warehouse.sqlite"))
    mp.setenv("FACTORY_MLFLOW_TRACKING_URI", uri)
    mp.setenv("FACTORY_MLFLOW_ARTIFACTS", (root / "artifacts").as_uri())
    mp.setenv("FACTORY_RESULTS_DIR", str(root / "results"))
    mp.setenv("FACTORY_REPORTS_DIR", str(root / "reports"))
    mp.setenv("FACTORY_DATA_DIR", str(data))
    return uri
