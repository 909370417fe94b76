"""Each private API bet of factory_assets/private_api/, exercised for real.

A version bump that breaks one fails its test with the API's name, the installed versions and
the pins it was checked against: update factory_assets/private_api/, nothing else.
"""

import contextlib
import importlib
from collections.abc import Iterator
from importlib.metadata import version
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from factory_assets import private_api as api
from factory_assets.lib.lake import Lake, connect

LIBRARIES = (
    "dagster",
    "dagster-shared",
    "dagster-dbt",
    "dagster-k8s",
    "dbt-core",
    "dbt-common",
    "dbt-duckdb",
)
CHECK = dg.AssetCheckKey(dg.AssetKey("scores"), "scores_hold")
DAYS = dg.DailyPartitionsDefinition("2013-01-01")


@contextlib.contextmanager
def bet(name: str) -> Iterator[None]:
    """Fail naming ``name``, the installed versions and the pins when the block breaks."""
    try:
        yield
    except Exception as err:  # noqa: BLE001 (any break of the bet is reported the same way)
        installed = ", ".join(f"{lib} {version(lib)}" for lib in LIBRARIES)
        pytest.fail(
            f"private API {name} no longer works as factory_assets/private_api/ expects.\n"
            f"Installed: {installed}. Checked against: {api.PINS}.\n"
            f"Update factory_assets/private_api/. Cause: {err!r}",
            pytrace=False,
        )


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    with dg.DagsterInstance.ephemeral() as ephemeral:
        yield ephemeral


def _verdict(day: int, passed: bool, target: object = None) -> dg.AssetCheckEvaluation:
    return dg.AssetCheckEvaluation(
        asset_key=CHECK.asset_key,
        check_name=CHECK.name,
        passed=passed,
        partition=f"2013-01-{day:02d}",
        metadata={"day": day},
        target_materialization_data=target,
    )


def test_check_records_reads_every_evaluation_page_by_page(
    instance: dg.DagsterInstance, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(api.checks, "CHECK_PAGE", 2)  # five records: three pages
    for day in range(1, 6):
        instance.report_runless_asset_event(_verdict(day, passed=day != 2))
    with bet("EventLogStorage.get_asset_check_execution_history"):
        every = api.check_records(instance, CHECK)
        assert [r.evaluation.metadata["day"].value for r in every] == [5, 4, 3, 2, 1]
        assert [r.passed for r in every] == [True, True, True, False, True]
        assert [r.partition for r in every][-1] == "2013-01-01"
        after = api.check_records(instance, CHECK, after=every[2].id)
        assert [r.id for r in after] == [r.id for r in every[:2]]
        assert [r.id for r in api.check_records(instance, CHECK, newest=3)] == [
            r.id for r in every[:3]
        ]
        (failed,) = api.check_records(instance, CHECK, passed=False)
        assert failed.evaluation.metadata["day"].value == 2
        (passed,) = api.check_records(instance, CHECK, newest=1, passed=True)
        assert passed.id == every[0].id


def test_check_target_links_an_evaluation_to_its_materialization(
    instance: dg.DagsterInstance,
) -> None:
    instance.report_runless_asset_event(
        dg.AssetMaterialization(CHECK.asset_key, partition="2013-01-03")
    )
    (record,) = instance.fetch_materializations(CHECK.asset_key, limit=1).records
    with bet("AssetCheckEvaluationTargetMaterializationData"):
        instance.report_runless_asset_event(
            _verdict(3, passed=True, target=api.check_target(record))
        )
        (stored,) = api.check_records(instance, CHECK)
        assert stored.evaluation.target_materialization_data.storage_id == record.storage_id


@pytest.mark.parametrize(
    ("text", "valid"),
    [("0 6 * * *", True), ("*/15 * * * 1-5", True), ("61 * * * *", False), ("0 0 30 2 *", False)],
)
def test_is_valid_cron_string(text: str, valid: bool) -> None:
    with bet("dagster._utils.schedules.is_valid_cron_string"):
        assert api.is_valid_cron_string(text) is valid


PROFILE = """tiny:
  target: dev
  outputs:
    dev:
      type: duckdb
      path: ":memory:"
      database: warehouse
      threads: 1
      attach: [{path: "ducklake:sqlite:%s", alias: warehouse, options: {data_path: "%s"}}]
"""
MODEL_TESTS = """models:
  - name: one
    columns:
      - name: x
        data_tests: [not_null]
"""


@pytest.fixture(scope="module")
def tiny_dbt(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list]:
    """A one-model dbt project built in process: (project, the event messages dbt sent)."""
    from dbt.cli.main import dbtRunner

    project = tmp_path_factory.mktemp("tiny_dbt")
    (project / "models").mkdir()
    (project / "dbt_project.yml").write_text("name: tiny\nversion: '1.0.0'\nprofile: tiny\n")
    lake = Lake.parse(project / "tiny.sqlite")  # made as the dbt step makes it, then attached
    with lake.connect():
        pass
    (project / "profiles.yml").write_text(PROFILE % (lake.catalog, lake.data_path))
    (project / "models" / "one.sql").write_text("select 1 as x")
    (project / "models" / "one.yml").write_text(MODEL_TESTS)
    messages: list = []
    result = dbtRunner(callbacks=[messages.append]).invoke(["build", *_flags(project)])
    assert result.success, result.exception
    return project, messages


def _flags(project: Path) -> list[str]:
    return ["--project-dir", str(project), "--profiles-dir", str(project)]


def test_dbt_event_dict_gives_the_json_log_shape(tiny_dbt: tuple[Path, list]) -> None:
    _, messages = tiny_dbt
    with bet("dbt_common.events.functions.msg_to_dict"):
        events = [api.dbt_event_dict(m) for m in messages]
        results = [e for e in events if e["info"]["name"] == "LogModelResult"]
        assert results[0]["data"]["node_info"]["unique_id"] == "model.tiny.one"
        assert results[0]["data"]["node_info"]["node_status"] == "success"  # read by dagster-dbt
        assert not any(
            e["data"].get("node_info", {"node_name": 1})["node_name"] == "" for e in events
        )


def test_release_duckdb_closes_the_database_of_this_process(tiny_dbt: tuple[Path, list]) -> None:
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager
    from dbt.cli.main import dbtRunner

    project, _ = tiny_dbt
    assert dbtRunner().invoke(["run", *_flags(project)]).success  # dbt-duckdb keeps its database
    with bet("dbt.adapters.duckdb DuckDBConnectionManager.env/close_all_connections"):
        database = DuckDBConnectionManager.env().conn  # in memory, the lake attached to it
        attached = database.execute("select database_name from duckdb_databases()").fetchall()
        assert ("warehouse",) in attached
        assert api.release_duckdb() is None
        with pytest.raises(duckdb.ConnectionException):  # closed, its catalog connection too
            database.execute("select 1")
        with pytest.raises(Exception, match="before creation"):  # and forgotten
            DuckDBConnectionManager.env()
        assert api.release_duckdb() is None  # nothing open: nothing to do
    # the lake holds what dbt built, for this process's own connections (their own settings)
    with connect(project / "tiny.sqlite", read_only=True) as conn:
        assert conn.execute("select x from one").fetchall() == [(1,)]


def _tiny_assets(project: Path, events: list[dict], seen: dict) -> dg.AssetsDefinition:
    from dagster_dbt import dbt_assets

    @dbt_assets(manifest=project / "target" / "manifest.json")
    def tiny(context: dg.AssetExecutionContext):  # noqa: ANN202
        seen["args"], seen["params"] = api.dbt_selection(context, ["build", "--select", "one"])
        for raw in events:
            yield from api.dbt_asset_events(raw, seen["params"], context, project / "target")

    return tiny


def test_dbt_selection_reads_the_step_selection(tiny_dbt: tuple[Path, list]) -> None:
    project, _ = tiny_dbt
    seen: dict = {}
    with bet("dagster_dbt.asset_utils selection helpers"):
        assert dg.materialize([_tiny_assets(project, [], seen)]).success
        assert seen["args"] == ["build"]
        assert "one" in " ".join(seen["params"].selection_args)
        assert seen["params"].manifest["nodes"]["model.tiny.one"]


def test_dbt_asset_events_turn_dbt_results_into_dagster_events(
    tiny_dbt: tuple[Path, list],
) -> None:
    project, messages = tiny_dbt
    with bet("dagster_dbt.core.dbt_cli_event.DbtCoreCliEventMessage (and msg_to_dict)"):
        events = [api.dbt_event_dict(m) for m in messages]
        result = dg.materialize([_tiny_assets(project, events, {})])
        assert result.success
        (materialized,) = result.get_asset_materialization_events()
        assert materialized.asset_key == dg.AssetKey("one")
        (check,) = result.get_asset_check_evaluations()
        assert check.passed and check.asset_check_key.name == "not_null_one_x"


@dg.asset(
    op_tags={"dagster-k8s/config": {"container_config": {"resources": {"limits": {"cpu": "2"}}}}}
)
def k8s_probe() -> None:
    """A step with its own k8s config."""


def test_k8s_step_job_is_the_job_the_step_handler_launches(tmp_path: Path) -> None:
    from dagster_k8s import K8sRunLauncher

    from tests.production.test_k8s import KUBECONFIG

    (tmp_path / "kubeconfig").write_text(KUBECONFIG)
    job = dg.Definitions(assets=[k8s_probe]).resolve_implicit_global_asset_job_def()
    with bet("dagster._core origin/plan and dagster_k8s job helpers"):
        launcher = K8sRunLauncher(
            service_account_name="sa",
            instance_config_map="cm",
            dagster_home="/opt/dagster/home",
            load_incluster_config=False,
            kubeconfig_file=str(tmp_path / "kubeconfig"),
            job_namespace="ns",
        )
        origin = api.job_origin(
            job.name, "probe.defs", python="/py", image="img:1", container_context={}
        )
        run = dg.DagsterRun(job_name=job.name, job_code_origin=origin)
        step = api.first_step(job)
        container = api.k8s_step_job(run, step, launcher, "img:1").spec.template.spec.containers[0]
        assert step.key == "k8s_probe"
        assert container.image == "img:1"
        assert list(container.args[:5]) == ["/py", "-m", "dagster", "api", "execute_step"]
        assert container.resources.limits == {"cpu": "2"}


def test_submit_runs_queues_a_run_per_request(tmp_path: Path) -> None:
    (tmp_path / "probe.py").write_text(
        "import dagster as dg\n\n\n@dg.asset\ndef probe() -> None:\n    pass\n\n\n"
        "defs = dg.Definitions(assets=[probe])\n"
    )
    (tmp_path / "workspace.yaml").write_text(
        f"load_from:\n  - python_file:\n      relative_path: probe.py\n"
        f"      working_directory: {tmp_path}\n"
    )
    (tmp_path / "home").mkdir()
    queued = {"run_coordinator": {"module": "dagster", "class": "QueuedRunCoordinator"}}
    with dg.DagsterInstance.local_temp(str(tmp_path / "home"), overrides=queued) as instance:
        request = dg.RunRequest(asset_selection=[dg.AssetKey("probe")])
        with bet("dagster._core.execution.submit_asset_runs.submit_asset_run"):
            (run_id,) = api.submit_runs(instance, tmp_path / "workspace.yaml", [request])
        run = instance.get_run_by_id(run_id)
        assert run.status == dg.DagsterRunStatus.QUEUED
        assert run.asset_selection == {dg.AssetKey("probe")}


def test_pool_slots_are_read_and_freed(tmp_path: Path) -> None:
    seen: dict = {}

    @dg.asset(pool="probe")
    def holds_a_slot(context: dg.AssetExecutionContext) -> None:
        seen["held"] = len(api.claimed_slots(context.instance, "probe"))
        api.free_slots_of_run(context.instance, context.run_id)
        seen["after"] = len(api.claimed_slots(context.instance, "probe"))

    pools = {"concurrency": {"pools": {"default_limit": 1}}}
    with dg.DagsterInstance.local_temp(str(tmp_path), overrides=pools) as instance:
        with bet("EventLogStorage concurrency slots"):
            assert dg.materialize([holds_a_slot], instance=instance).success
            assert seen == {"held": 1, "after": 0}


def test_finished_ticks_counts_a_sensor_without_ticks(defs: dg.Definitions, tmp_path: Path) -> None:
    # a daemon's ticks are counted for real by tests/integration/test_replay_daemon.py
    sensor = defs.get_sensor_def("flights_retrain_sensor")
    with dg.DagsterInstance.local_temp(str(tmp_path)) as instance:
        api.store_sensor_cursor(instance, sensor, "0")
        with bet("dagster._core.scheduler.instigation.TickStatus, DagsterInstance.get_ticks"):
            counts = api.finished_ticks(instance, [sensor.name, "absent"])
            assert counts == {sensor.name: 0, "absent": 0}


def test_repository_snapshot_lists_the_assets() -> None:
    with bet("dagster._core.remote_representation RepositorySnap"):
        snap = api.repository_snapshot(dg.Definitions(assets=[k8s_probe]))
        assert dg.AssetKey("k8s_probe") in {node.asset_key for node in snap.asset_nodes}


def test_event_log_write_is_where_sqlite_stores_events(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    module, name = api.EVENT_LOG_WRITE
    calls = []
    with bet(f"{module}.{name}"):
        owner = importlib.import_module(module)
        *classes, method = name.split(".")
        for cls in classes:
            owner = getattr(owner, cls)
        original = getattr(owner, method)
        monkeypatch.setattr(owner, method, lambda *a, **k: calls.append(1) or original(*a, **k))
        with dg.DagsterInstance.local_temp(str(tmp_path)) as instance:
            instance.report_runless_asset_event(dg.AssetMaterialization("probe"))
        assert calls


def test_source_line_finds_an_attribute_line() -> None:
    from dagster_shared.yaml_utils import parse_yaml_with_source_position

    text = "type: x\nattributes:\n  name: churn\n  schedule:\n    cron: nope\n"
    with bet("dagster_shared SourcePositionTree.lookup_closest_and_path"):
        tree = parse_yaml_with_source_position(text, "defs.yaml").source_position_tree
        assert api.source_line(tree, ["attributes", "schedule", "cron"]).start.line == 5
        assert str(api.source_line(tree, ["attributes", "schedule", "missing"])) == "defs.yaml:4"


class SpecBroken(api.ComponentTreeException):
    """An error a component load should raise as is."""


class Breaks(dg.Component, dg.Resolvable, dg.Model):
    """A component whose definitions fail with ``error`` (``spec``: SpecBroken, else ValueError)."""

    error: str = "spec"

    def build_defs(self, context: dg.ComponentLoadContext) -> dg.Definitions:
        raise (SpecBroken if self.error == "spec" else ValueError)("defs.yaml:3: name: bad")


@pytest.mark.parametrize("error", ["spec", "other"])
def test_a_component_tree_exception_passes_through_a_load(error: str) -> None:
    from dagster.components.testing import create_defs_folder_sandbox

    with bet("dagster.components.core.component_tree.ComponentTreeException"):
        with create_defs_folder_sandbox() as sandbox:
            attributes = {"type": f"{__name__}.Breaks", "attributes": {"error": error}}
            sandbox.scaffold_component(Breaks, "broken", defs_yaml_contents=attributes)
            with pytest.raises(Exception) as raised:  # noqa: PT011 (which error is the point)
                with sandbox.build_all_defs():
                    pass
        # ours is the load's error itself; any other is wrapped in one about the tree
        assert (type(raised.value) is SpecBroken) is (error == "spec")
        assert (str(raised.value) == "defs.yaml:3: name: bad") is (error == "spec")


def test_the_pins_named_are_the_installed_versions() -> None:
    """The docstring's pins are what the bets were checked against: a bump re-checks them."""
    stale = [lib for lib in LIBRARIES if f"{lib} {version(lib)}" not in api.PINS]
    assert not stale, f"re-check factory_assets/private_api/ for {stale}, then update PINS"
