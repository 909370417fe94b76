"""dbt in the step's process gives what dagster-dbt's subprocess gives, and leaves the lake free."""

import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from factory_assets.components import dbt_in_process
from factory_assets.definitions import defs as load_defs
from factory_assets.lib import lake
from factory_assets.lib.lake import copy_lake
from factory_assets.settings import env_name
from tests.conftest import LINE, run_assets

DBT = [k for k in LINE if not k.startswith("raw_") and k != "flight_features" and "dim_" not in k]


def _outcome(result: dg.ExecuteInProcessResult) -> tuple[dict, dict]:
    rows = {
        e.asset_key.to_user_string(): e.materialization.metadata["dagster/row_count"].value
        for e in result.get_asset_materialization_events()
    }
    checks = {
        e.asset_check_key.to_user_string(): (e.passed, e.severity)
        for e in result.get_asset_check_evaluations()
    }
    return rows, checks


@pytest.fixture(scope="module")
def both(built, defs, tmp_path_factory):  # noqa: ANN001, ANN201
    """The dbt models rebuilt on two copies of the built warehouse: in process, subprocess.

    Each: (warehouse, run result, the run's log messages). Built once for the module: its tests
    only read what the runs left.
    """
    results = {}
    root = tmp_path_factory.mktemp("both")
    for way in ("in_process", "subprocess"):
        path = root / way / "warehouse.sqlite"
        copy_lake(built[0], path)
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("FACTORY_WAREHOUSE", str(path))
            if way == "subprocess":
                mp.setenv(env_name("dbt_subprocess"), "1")
            with dg.DagsterInstance.ephemeral() as instance:
                result = run_assets(defs, DBT, instance)
                messages = "\n".join(e.user_message for e in instance.all_logs(result.run_id))
        results[way] = (path, result, messages)
    return results


def test_in_process_dbt_yields_what_the_subprocess_yields(both) -> None:  # noqa: ANN001
    (_, inside, inside_log), (_, outside, outside_log) = both["in_process"], both["subprocess"]
    assert inside.success and outside.success
    assert "(in process)" in inside_log
    assert "(in process)" not in outside_log
    rows, checks = _outcome(inside)
    assert set(rows) == set(DBT)
    assert rows["fct_flights"] > 5000
    assert any(name.endswith("unique_fct_flights_flight_id") for name in checks)
    assert (rows, checks) == _outcome(outside)


# another process, while this one holds a connection mid-write: it reads, then commits its own
OTHER_PROCESS = """
import sys
from factory_assets.lib import lake
with lake.connect(sys.argv[1], read_only=True) as conn:
    print(conn.execute("select count(*) from fct_flights").fetchone()[0])
    print(sorted(t for (t,) in conn.execute("show tables").fetchall()))
with lake.connect(sys.argv[1]) as conn:
    conn.execute("create table other_process as select 1 as x")
    conn.execute("drop table other_process")
"""


def test_other_processes_read_and_write_the_lake_beside_a_writer(both) -> None:  # noqa: ANN001
    path, result, _ = both["in_process"]
    built_rows = _outcome(result)[0]["fct_flights"]
    # dbt built in this process and its DuckDB was released; a writer here holds a connection
    # with an open transaction, as a step would: no file lock keeps another process out.
    with lake.connect(path) as writer:
        writer.execute("begin")
        writer.execute("create table pending as select 1 as x")
        other = subprocess.run(
            [sys.executable, "-c", OTHER_PROCESS, str(path)],
            capture_output=True,
            text=True,
            check=False,
        )
        writer.execute("rollback")
    assert other.returncode == 0, other.stderr
    count, tables = other.stdout.splitlines()
    assert int(count) == built_rows  # the committed snapshot, whole
    assert "fct_flights" in tables and "pending" not in tables  # never the uncommitted write
    with lake.connect(path, read_only=True) as conn:
        after = {t for (t,) in conn.execute("show tables").fetchall()}
    assert "fct_flights" in after
    assert not {"pending", "other_process"} & after  # rolled back; created and dropped


def test_the_parsed_project_is_reused_until_a_project_file_changes(tmp_path: Path) -> None:
    project = tmp_path / "project"
    (project / "models").mkdir(parents=True)
    model = project / "models" / "a.sql"
    model.write_text("select 1 as x")
    args = ["--project-dir", str(project)]
    first = dbt_in_process._fingerprint(project, args)  # noqa: SLF001
    (project / "target").mkdir()
    (project / "target" / "run_results.json").write_text("{}")
    assert dbt_in_process._fingerprint(project, args) == first  # noqa: SLF001
    model.write_text("select 22 as x")
    changed = dbt_in_process._fingerprint(project, args)  # noqa: SLF001
    assert changed != first
    assert dbt_in_process._fingerprint(project, [*args, "--target", "x"]) != changed  # noqa: SLF001


@pytest.mark.parametrize("subprocess_dbt", [False, True], ids=["in_process", "subprocess"])
def test_dbt_builds_in_the_settings_warehouse_when_none_is_exported(
    built, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, subprocess_dbt: bool
) -> None:  # noqa: ANN001
    # FACTORY_STATE_DIR alone (as the Docker image sets it): dbt must build in the lake the
    # resources open, <state>/warehouse.sqlite, and leave the environment as it found it.
    monkeypatch.delenv("FACTORY_WAREHOUSE")
    monkeypatch.delenv(env_name("warehouse_data"), raising=False)
    monkeypatch.setenv("FACTORY_STATE_DIR", str(tmp_path))
    monkeypatch.setenv(env_name("dbt_subprocess"), str(subprocess_dbt))
    path = tmp_path / "warehouse.sqlite"
    copy_lake(built[0], path)
    with lake.connect(path) as conn:
        conn.execute("drop table dim_carriers")
    # loaded again: the session's definitions hold the variable the test unset
    result = run_assets(load_defs(), ["dim_carriers"])
    assert result.success
    assert "FACTORY_WAREHOUSE" not in os.environ
    assert env_name("warehouse_data") not in os.environ
    with lake.connect(path, read_only=True) as conn:
        assert conn.execute("select count(*) from dim_carriers").fetchone()[0] > 0


def test_lakes_in_two_folders_share_a_parse_and_each_build_lands_in_its_own(
    built, defs, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # noqa: ANN001
    # Two lakes in two folders, named differently: dbt parses once (the parse sees the fixed
    # PARSE_LAKE, never theirs), each build still goes to its own lake, never to the other one,
    # and the variables the parse and the build set are put back after.
    paths = [tmp_path / "a" / "warehouse.sqlite", tmp_path / "b" / "lake.sqlite"]
    for path in paths:
        copy_lake(built[0], path)
        with lake.connect(path) as conn:
            conn.execute("drop table dim_carriers")
    monkeypatch.delenv(env_name("warehouse_data"), raising=False)
    manifests = []
    for i, path in enumerate(paths):
        monkeypatch.setenv("FACTORY_WAREHOUSE", str(path))
        assert run_assets(defs, ["dim_carriers"]).success
        assert os.environ["FACTORY_WAREHOUSE"] == str(path)  # the parse and build put it back
        assert env_name("warehouse_data") not in os.environ
        manifests.append(next(iter(dbt_in_process._MANIFESTS.values())))  # noqa: SLF001
        for j, other in enumerate(paths):
            with lake.connect(other, read_only=True) as conn:
                tables = {t for (t,) in conn.execute("show tables").fetchall()}
            assert ("dim_carriers" in tables) == (j <= i), (path, other)
    assert manifests[0] is manifests[1]
