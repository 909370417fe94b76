"""Readers never wait, writers run side by side, on the embedded lake (a SQLite catalog).

Four runs at once split 30 days of the flights line (ingest -> dbt with its tests -> features),
each run a process with the project's multiprocess executor on a real SQLite instance configured
by the project's dagster.yaml; meanwhile another process queries ``fct_flights`` per day in a
loop, each time on a new connection. Commits that lose a race on the catalog are retried by the
steps' RetryPolicy; nothing else is allowed to fail.
"""

import datetime as dt
import os
import shutil

import pytest

from factory_assets.examples.nycflights import lay_out_landing
from tests.conftest import FIRST, ROOT
from tests.production.backfill import backfill_while_reading
from tests.production.tier import check_backfill, check_reads

DAYS = [FIRST + dt.timedelta(days=i) for i in range(30)]
RUNS = 4

# 4 runs of 12 step processes at once: minutes on a quiet 2-core machine, far more on a busy one
pytestmark = [pytest.mark.slow, pytest.mark.timeout(3600)]


@pytest.fixture(scope="module")
def backfill(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, list[dict], dict]:
    """The runs' summary, the reader's reads, and the environment they ran in."""
    root = tmp_path_factory.mktemp("lake_backfill")
    lay_out_landing(root / "data" / "landing", DAYS[0], DAYS[-1])
    home = root / "dagster_home"
    home.mkdir()
    shutil.copy(ROOT / "dagster.yaml", home / "dagster.yaml")
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "FACTORY_WAREHOUSE": str(root / "warehouse.sqlite"),
        "FACTORY_DATA_DIR": str(root / "data"),
    }
    summary, reads = backfill_while_reading(env, DAYS[0], DAYS[-1], RUNS, root)
    print(f"\nbackfill: {summary}")
    return summary, reads, env


def test_four_runs_at_once_over_30_days_lose_and_double_nothing(backfill) -> None:  # noqa: ANN001
    summary, _, env = backfill
    check_backfill(summary, env, DAYS, RUNS)


def test_a_reader_during_the_backfill_never_fails_and_sees_whole_days(backfill) -> None:  # noqa: ANN001
    summary, reads, env = backfill
    final = check_backfill(summary, env, DAYS, RUNS)
    check_reads(reads, final, DAYS)
