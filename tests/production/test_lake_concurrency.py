"""The production tier's lake: catalog in PostgreSQL, writers side by side, readers never wait.

Four runs at once split 30 days of the flights line (ingest -> dbt with its tests -> features)
on the production instance (deploy/dagster.yaml, Postgres storage) and a lake whose catalog is a
fresh Postgres database and whose data path is a local folder (object storage in a cluster);
meanwhile another process queries ``fct_flights`` per day in a loop. As on the embedded lake
(tests/integration/test_backfill_concurrency.py): no step fails, no day is lost or doubled, and
every read sees whole days.
"""

import datetime as dt
import os
from collections.abc import Callable

import pytest

from factory_assets.examples.nycflights import lay_out_landing
from factory_assets.lib.lake import Lake, contended
from tests.conftest import FIRST
from tests.production.backfill import backfill_while_reading
from tests.production.tier import check_backfill, check_reads, guard_race

pytestmark = [pytest.mark.postgres, pytest.mark.slow, pytest.mark.timeout(3600)]

DAYS = [FIRST + dt.timedelta(days=i) for i in range(30)]
RUNS = 4


@pytest.fixture(scope="module")
def backfill(
    prod_env: dict[str, str],
    postgres: dict[str, str],
    new_database: Callable[[str], str],
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[dict, list[dict], dict]:
    """The runs' summary, the reader's reads, and the environment they ran in."""
    root = tmp_path_factory.mktemp("pg_lake")
    lay_out_landing(root / "data" / "landing", DAYS[0], DAYS[-1])
    conninfo = (
        f"dbname={new_database('lake')} host={postgres['host']} port={postgres['port']} "
        f"user={postgres['user']}"
    )
    env = {
        **os.environ,  # prod_env's DAGSTER_HOME, DAGSTER_PG_*, MLflow on Postgres
        "FACTORY_WAREHOUSE": f"postgres:{conninfo}",  # the password: libpq's PGPASSWORD only
        "FACTORY_WAREHOUSE_DATA": str(root / "lake_data"),
        "FACTORY_DATA_DIR": str(root / "data"),
    }
    if postgres["password"]:
        env["PGPASSWORD"] = postgres["password"]
    # the lake exists before its readers come (a read-only attach never creates one), as in a
    # deployment: a fresh Postgres database holds no lake until a writer makes it
    with Lake.parse(env["FACTORY_WAREHOUSE"], env["FACTORY_WAREHOUSE_DATA"]).connect():
        pass
    summary, reads = backfill_while_reading(env, DAYS[0], DAYS[-1], RUNS, root)
    print(f"\nbackfill on the Postgres catalog: {summary}")
    return summary, reads, env


def test_four_runs_at_once_over_30_days_on_the_postgres_catalog(backfill) -> None:  # noqa: ANN001
    summary, _, env = backfill
    check_backfill(summary, env, DAYS, RUNS)


def test_a_reader_of_the_postgres_catalog_never_fails_and_sees_whole_days(backfill) -> None:  # noqa: ANN001
    summary, reads, env = backfill
    check_reads(reads, check_backfill(summary, env, DAYS, RUNS), DAYS)


def test_two_dbt_builds_at_once_conflict_on_the_postgres_catalog(backfill) -> None:  # noqa: ANN001
    """The guard every incremental build updates (macros/lake_build_guard.sql) is a logical
    conflict on Postgres, not a busy catalog: the later of two builds fails and is retried."""
    _, _, env = backfill
    lost = guard_race(Lake.parse(env["FACTORY_WAREHOUSE"], env["FACTORY_WAREHOUSE_DATA"]))
    assert "conflict" in str(lost).lower(), lost
    assert contended(lost)
