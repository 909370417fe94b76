"""An incremental model's build rewrites its guard in its own transaction: two builds conflict.

DuckLake lets two commits that only append to one table both succeed, so two runs building
``fct_flights`` at once could each insert a day both found missing. The project's pre-hook
(``dbt_project/macros/lake_build_guard.sql``) makes each incremental build also update its
model's one-row guard table; the commit of a build that raced another then fails as contended
and the dbt step retries. The 4-runs-at-once backfills (tests/integration, tests/production)
check that no day is doubled; here: the guard moves in the very snapshot that rewrites the
model, only incremental models have one, and two transactions that update it cannot both commit.
"""

import dagster as dg
import pytest

from factory_assets.lib import lake
from factory_assets.lib.lake import Lake, contended, copy_lake
from tests.conftest import run_assets
from tests.production.tier import guard_race

GUARD = "_build_guard.fct_flights"
DROPPED_DAY = "2013-01-03"


@pytest.fixture(scope="module")
def rebuilt(built, defs, tmp_path_factory):  # noqa: ANN001, ANN201
    """A copy of the built lake, one day taken out of fct_flights, then fct_flights rebuilt."""
    path = tmp_path_factory.mktemp("guard") / "warehouse.sqlite"
    copy_lake(built[0], path)
    with lake.connect(path) as conn:
        before = conn.execute(f"select builds from {GUARD}").fetchone()[0]
        conn.execute(f"delete from fct_flights where flight_date = date '{DROPPED_DAY}'")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FACTORY_WAREHOUSE", str(path))
        with dg.DagsterInstance.ephemeral() as instance:
            result = run_assets(defs, ["fct_flights"], instance)
    assert result.success
    return path, before


def _changes(conn, snapshot: int) -> dict:  # noqa: ANN001
    return conn.execute(
        "select changes from ducklake_snapshots('warehouse') where snapshot_id = ?", [snapshot]
    ).fetchone()[0]


def test_the_guard_moves_in_the_snapshot_that_rebuilds_the_model(rebuilt) -> None:  # noqa: ANN001
    path, before = rebuilt
    with lake.connect(path, read_only=True) as conn:
        assert conn.execute(f"select builds from {GUARD}").fetchone()[0] == before + 1
        day = f"select count(*) from fct_flights where flight_date = date '{DROPPED_DAY}'"
        assert conn.execute(day).fetchone()[0] > 0  # the missing day was built again
        # the newest snapshot that inserted into fct_flights also changed the guard
        ids = [s for (s,) in conn.execute(
            "select snapshot_id from ducklake_snapshots('warehouse') order by 1 desc"
        ).fetchall()]  # fmt: skip
        rebuild = next(s for s in ids if "fct_flights" in str(_changes(conn, s)))
        changed = str(_changes(conn, rebuild))
    assert "fct_flights" in changed and "_build_guard" in changed, changed


def test_only_incremental_models_have_a_guard(rebuilt) -> None:  # noqa: ANN001
    path, _ = rebuilt
    with lake.connect(path, read_only=True) as conn:
        guarded = conn.execute(
            "select table_name from information_schema.tables where table_schema = '_build_guard'"
        ).fetchall()
    assert guarded == [("fct_flights",)]


def test_two_builds_updating_the_guard_cannot_both_commit(rebuilt) -> None:  # noqa: ANN001
    path, _ = rebuilt
    lost = guard_race(Lake.parse(path))
    assert contended(lost), lost  # the dbt step retries such a failure
