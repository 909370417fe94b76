"""Housekeeping and migration on a lake whose catalog is in Postgres (the production catalog)."""

from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest

from factory_assets.lib.lake import Lake
from factory_assets.lib.warehouse_migration import migrate
from factory_assets.resources import TrackingStore, Warehouse
from tests.assets.test_lake_maintenance import check_maintenance

pytestmark = pytest.mark.postgres


def _catalog(postgres: dict[str, str], database: str) -> str:
    """``postgres:<conninfo>``; the password, if any, stays in PGPASSWORD."""
    return (
        f"postgres:dbname={database} host={postgres['host']} port={postgres['port']} "
        f"user={postgres['user']}"
    )


@pytest.fixture
def pg_lake(
    postgres: dict[str, str],
    new_database: Callable[[str], str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Warehouse:
    if postgres["password"]:
        monkeypatch.setenv("PGPASSWORD", postgres["password"])
    return Warehouse(
        catalog=_catalog(postgres, new_database("lake")), data_path=str(tmp_path / "lake")
    )


def test_maintenance_on_a_postgres_catalog(pg_lake: Warehouse, tmp_path: Path) -> None:
    """Postgres compares times exactly: files let go now survive a 12 h cleanup age."""
    tracking = TrackingStore(
        tracking_uri=f"sqlite:///{tmp_path}/mlflow.db", artifact_location=f"file://{tmp_path}/a"
    )
    check_maintenance(pg_lake, tracking)


def test_migration_into_a_postgres_catalog(pg_lake: Warehouse, tmp_path: Path) -> None:
    old = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(old)) as conn:
        conn.execute("create table fct_days as select range as day from range(500)")
        conn.execute("create view stg_days as select * from fct_days")
    lake: Lake = pg_lake.lake()
    checked, views = migrate(old, lake)
    assert [(c.name, c.source_rows, c.lake_rows) for c in checked] == [("main.fct_days", 500, 500)]
    assert views == 1
    with lake.connect(read_only=True) as conn:
        assert conn.execute("select sum(day) from fct_days").fetchone() == (124750,)
