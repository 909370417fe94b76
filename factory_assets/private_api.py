"""Every private or unexported API of dagster, dagster-dbt, dbt and dbt-duckdb that we use.

Each function here is a bet on a pin: it reaches into a library where no public API does the
job. Each was checked against the versions in ``PINS``; tests/unit/test_private_api.py exercises
each one and, on a version bump that breaks it, fails naming the API, the installed versions and
``PINS``. Nothing outside this module imports a private name of those libraries.

- ``check_records``: dagster has no public read of asset check evaluations (the instance's
  public methods read materializations, observations and run status changes only; sensors
  watch materializations). The retrain sensor, the suites' watermark and the replay read the
  event log storage's check history.
- ``check_target``: ``dg.AssetCheckEvaluation`` takes the materialization it judged as an
  unexported class. A period monitor yields evaluations itself (``dg.AssetCheckResult`` has no
  partition: it cannot judge one day of a range) and links each to its day's materialization.
- ``is_valid_cron_string``: dagster's own rule for the crons its schedules accept (5 fields, no
  30th of February); croniter is vendored inside dagster, not a dependency we could call, and
  the public ``dg.ScheduleDefinition`` only raises on a bad cron as a side effect of building.
- ``dbt_selection``, ``dbt_asset_events``: dagster-dbt's reading of a step's selection and its
  conversion of dbt Core events to Dagster events, for dbt run in process
  (components/dbt_in_process.py): only the subprocess path is public (``DbtCliResource.cli``).
- ``dbt_event_dict``: dbt's own serialisation of its event messages, the shape dagster-dbt
  reads from the subprocess's JSON log lines (protobuf's public ``MessageToDict`` keeps the
  empty ``node_info`` that dbt drops and dagster-dbt tests for).
- ``release_duckdb``: dbt-duckdb keeps one database per process with no public way to close it.
- ``first_step``, ``job_origin``, ``k8s_step_job``, ``submit_runs``, ``claimed_slots``,
  ``free_slots_of_run``, ``finished_ticks``, ``repository_snapshot``, ``EVENT_LOG_WRITE``: the
  deployment tests and a benchmark do or read what dagster's code server, run worker and
  daemons do internally (a step's k8s Job, a code origin, a run submitted from a RunRequest, a
  dead run's pool slots freed, the daemon's sensor ticks, the UI's snapshot, the event log's
  writes).
- ``sensor_cursor``, ``store_sensor_cursor``: the sensor state the daemon reads and writes,
  so that a replay's sensor cursors are where the daemon resumes (the public path, ``dagster
  sensor cursor --set``, starts a code server and stores a new state as STOPPED); their test
  is tests/unit/test_sensor_state.py.
- ``source_line``, ``ComponentTreeException``: the YAML line of a component attribute, from
  dagster-shared's position tree; the one error type a component load raises as is (dagster
  wraps any other in a message that lists only the component tree), which spec errors subclass.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import dagster as dg

# Raised as is by a component load (any other error is wrapped in a message that only lists the
# component tree): spec errors subclass it, so imported here at load, not in a function.
from dagster.components.core.component_tree import (
    ComponentTreeException as ComponentTreeException,
)

PINS = (
    "dagster 1.13.27, dagster-shared 1.13.27, dagster-dbt 0.29.27, dagster-k8s 0.29.27, "
    "dbt-core 1.11.16, dbt-common 1.39.0, dbt-duckdb 1.11.1"
)
CHECK_PAGE = 100  # check records read per storage query
_LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class CheckRecord:
    """One execution of an asset check: planned (``passed`` None) or evaluated."""

    id: int  # storage order: a row is added when the check is planned, then updated
    run_id: str
    partition: str | None
    passed: bool | None
    evaluation: dg.AssetCheckEvaluation | None


def check_records(
    instance: dg.DagsterInstance,
    key: dg.AssetCheckKey,
    *,
    after: int = 0,
    newest: int | None = None,
    passed: bool | None = None,
) -> list[CheckRecord]:
    """The executions of ``key`` stored after id ``after``, newest first, page by page.

    ``newest`` keeps only that many; ``passed`` only the evaluations with that verdict.
    """
    from dagster._core.storage.asset_check_execution_record import (
        AssetCheckExecutionRecordStatus as Status,
    )

    status = None if passed is None else {Status.SUCCEEDED if passed else Status.FAILED}
    verdicts = {Status.SUCCEEDED: True, Status.FAILED: False}
    records: list[CheckRecord] = []
    before = None
    while newest is None or len(records) < newest:
        page = min(CHECK_PAGE, newest - len(records)) if newest else CHECK_PAGE
        rows = instance.event_log_storage.get_asset_check_execution_history(
            key, limit=page, cursor=before, status=status
        )
        for row in rows:
            if row.id <= after:
                return records
            evaluation = row.event.asset_check_evaluation if row.event else None
            verdict = verdicts.get(row.status)
            records.append(CheckRecord(row.id, row.run_id, row.partition, verdict, evaluation))
        if len(rows) < page:
            break
        before = rows[-1].id
    return records


def check_target(record: dg.EventLogRecord) -> object:
    """What ``dg.AssetCheckEvaluation(target_materialization_data=...)`` takes for ``record``."""
    from dagster._core.definitions.asset_checks.asset_check_evaluation import (
        AssetCheckEvaluationTargetMaterializationData,
    )

    return AssetCheckEvaluationTargetMaterializationData(
        storage_id=record.storage_id,
        run_id=record.event_log_entry.run_id,
        timestamp=record.timestamp,
    )


def is_valid_cron_string(text: str) -> bool:
    """Whether dagster's schedules accept ``text`` as a cron string."""
    from dagster._utils.schedules import is_valid_cron_string as valid

    return valid(text)


def dbt_selection(context: dg.AssetExecutionContext, args: Sequence[str]) -> tuple[list, object]:
    """``args`` without --select/--exclude, and dagster-dbt's invocation params for the step.

    The params carry the selection arguments for the step's subset (``selection_args``), its
    indirect selection, manifest, translator and project (None when dagster-dbt would write a
    selector into a temporary copy of the project).
    """
    from dagster_dbt import DagsterDbtTranslator
    from dagster_dbt.asset_utils import (
        extract_runtime_selection_from_args,
        get_updated_cli_invocation_params_for_context,
    )

    cleaned, selects, excludes = extract_runtime_selection_from_args(args)
    params = get_updated_cli_invocation_params_for_context(
        context.op_execution_context,
        {},
        DagsterDbtTranslator(),
        runtime_selects=selects,
        runtime_excludes=excludes,
    )
    return cleaned, params


def dbt_asset_events(
    raw: dict, params: object, context: dg.AssetExecutionContext, target_path: Path
) -> Iterator:
    """The Dagster events (Output, AssetCheckResult, ...) dagster-dbt makes of one dbt event."""
    from dagster_dbt.core.dbt_cli_event import DbtCoreCliEventMessage

    event = DbtCoreCliEventMessage(raw_event=raw, event_history_metadata={})
    yield from event.to_default_asset_events(
        manifest=params.manifest,
        dagster_dbt_translator=params.dagster_dbt_translator,
        context=context,
        target_path=target_path,
        project=params.dbt_project,
    )


def dbt_event_dict(message: object) -> dict:
    """A dbt event message (a ``dbtRunner`` callback's argument) as dbt's JSON log writes it."""
    from dbt_common.events.functions import msg_to_dict

    return msg_to_dict(message)


def release_duckdb() -> str | None:
    """Close dbt-duckdb's database in this process and return its file's path (None: none open).

    dbt-duckdb keeps one database per process: it would hold the warehouse file's lock (other
    processes could not open it) and its own configuration (this process's other connections to
    the file would be refused).
    """
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager as Manager

    try:
        env = Manager.env()
    except Exception:  # noqa: BLE001 (dbt-duckdb's bare Exception: no database open)
        return None
    Manager.close_all_connections()  # forgets the database, without closing it
    env.close()
    return getattr(env.creds, "path", None)


def first_step(job: dg.JobDefinition) -> object:
    """The first step of ``job``'s execution plan (its key and tags are what a launcher reads)."""
    from dagster._core.execution.api import create_execution_plan

    return create_execution_plan(job).get_all_steps_in_topo_order()[0]


def job_origin(
    job_name: str, module: str, *, python: str, image: str, container_context: dict
) -> object:
    """The code origin a user code deployment reports for a job of ``module``'s ``defs``."""
    from dagster._core.code_pointer import ModuleCodePointer
    from dagster._core.origin import JobPythonOrigin, RepositoryPythonOrigin

    return JobPythonOrigin(
        job_name,
        RepositoryPythonOrigin(
            executable_path=python,
            code_pointer=ModuleCodePointer(module, "defs", working_directory="/opt/factory"),
            container_image=image,
            container_context=container_context,
        ),
    )


def k8s_step_job(run: dg.DagsterRun, step: object, launcher: object, image: str) -> object:
    """The k8s Job (a V1Job) dagster-k8s's step handler launches for ``step`` of ``run``.

    Its own pieces in its own order (``K8sStepHandler._get_container_context``, then
    ``launch_step``): the run launcher's config, the run's container context, then the step's
    ``dagster-k8s/config`` tag.
    """
    from dagster._grpc.types import ExecuteStepArgs
    from dagster_k8s import construct_dagster_k8s_job
    from dagster_k8s.container_context import K8sContainerContext
    from dagster_k8s.job import get_k8s_job_name, get_user_defined_k8s_config

    context = K8sContainerContext.create_for_run(run, launcher, include_run_tags=False)
    context = context.merge(
        K8sContainerContext(run_k8s_config=get_user_defined_k8s_config(step.tags))
    )
    config = context.get_k8s_job_config(None, launcher).with_image(image)
    args = ExecuteStepArgs(run.job_code_origin, run.run_id, [step.key], should_verify_step=True)
    name = get_k8s_job_name(run.run_id, step.key)
    return construct_dagster_k8s_job(
        job_config=config,
        args=args.get_command_args(skip_serialized_namedtuple=True),
        job_name=name,
        pod_name=name,
        component="step_worker",
        user_defined_k8s_config=context.run_k8s_config,
        labels={"dagster/op": step.key},
        env_vars=args.get_command_env(),
    )


def submit_runs(
    instance: dg.DagsterInstance, workspace: Path, requests: Sequence[dg.RunRequest]
) -> list[str]:
    """Queue a run per request as the sensor daemon does (the run queue launches them)."""
    from dagster._core.execution.submit_asset_runs import submit_asset_run
    from dagster._core.workspace.context import WorkspaceProcessContext
    from dagster._core.workspace.load_target import WorkspaceFileTarget

    target = WorkspaceFileTarget(paths=[str(workspace)])
    run_ids = []
    with WorkspaceProcessContext(instance, target) as context:
        request_context = context.create_request_context()
        for index, request in enumerate(requests):
            run = asyncio.run(
                submit_asset_run(
                    None, request, index, instance, context, request_context, {}, {}, _LOG
                )
            )
            run_ids.append(run.run_id)
    return run_ids


def repository_snapshot(defs: dg.Definitions) -> object:
    """What a code server sends the UI about ``defs`` (the cost of loading a code location)."""
    from dagster._core.remote_representation.external_data import RepositorySnap

    return RepositorySnap.from_def(defs.get_repository_def())


def claimed_slots(instance: dg.DagsterInstance, pool: str) -> list:
    """The slots of ``pool`` held by steps now (the UI's pool page)."""
    return instance.event_log_storage.get_concurrency_info(pool).claimed_slots


def free_slots_of_run(instance: dg.DagsterInstance, run_id: str) -> None:
    """Free the pool slots ``run_id``'s steps hold, as run monitoring does after a dead run."""
    instance.event_log_storage.free_concurrency_slots_for_run(run_id)


def finished_ticks(instance: dg.DagsterInstance, names: Sequence[str]) -> dict[str, int]:
    """Evaluations the daemon finished (succeeded, skipped or failed) of each sensor named."""
    from dagster._core.scheduler.instigation import TickStatus

    done = {TickStatus.SUCCESS, TickStatus.SKIPPED, TickStatus.FAILURE}
    counts = dict.fromkeys(names, 0)
    for state in instance.all_instigator_state():
        if state.name in counts:
            ticks = instance.get_ticks(state.instigator_origin_id, state.selector_id, limit=10)
            counts[state.name] = sum(t.status in done for t in ticks)
    return counts


# Where dagster's SQLite event log writes each event: (module, qualified name), for timing it.
EVENT_LOG_WRITE = (
    "dagster._core.storage.event_log.sqlite.sqlite_event_log",
    "SqliteEventLogStorage.store_event",
)


def source_line(tree: object, path: Sequence[str | int]) -> object:
    """Where the YAML value at ``path`` (or its closest parent) is: dagster-shared's position."""
    return tree.lookup_closest_and_path(list(path), None)[0]


PROJECT_ROOT = Path(__file__).resolve().parents[1]


@functools.cache
def _repository_origin():  # noqa: ANN202 (a RemoteRepositoryOrigin)
    from dagster._core.definitions.repository_definition.valid_definitions import (
        SINGLETON_REPOSITORY_NAME,
    )
    from dagster._core.remote_origin import RemoteRepositoryOrigin
    from dagster._core.workspace.load import location_origins_from_yaml_paths

    (location,) = location_origins_from_yaml_paths([str(PROJECT_ROOT / "workspace.yaml")])
    return RemoteRepositoryOrigin(location, SINGLETON_REPOSITORY_NAME)


def _sensor_origin(name: str):  # noqa: ANN202 (a RemoteInstigatorOrigin)
    """The origin the daemon gives sensor ``name`` of workspace.yaml's code location.

    The daemon finds a sensor's stored state by its selector (location, repository, name);
    the rest of the origin (interpreter, working directory) is read from workspace.yaml as the
    daemon reads it, without starting the code server the public path (``dagster sensor
    cursor --set``) starts, which would also store a new state as STOPPED.
    """
    from dagster._core.remote_origin import RemoteInstigatorOrigin

    return RemoteInstigatorOrigin(_repository_origin(), name)


def _stored_state(instance: dg.DagsterInstance, name: str):  # noqa: ANN202 (InstigatorState)
    origin = _sensor_origin(name)
    return origin, instance.get_instigator_state(origin.get_id(), origin.get_selector().get_id())


def sensor_cursor(instance: dg.DagsterInstance, name: str) -> tuple[bool, str | None]:
    """Whether the instance holds a state for sensor ``name``, and its cursor (as the daemon)."""
    _, state = _stored_state(instance, name)
    if state is None:
        return False, None
    return True, state.instigator_data.cursor if state.instigator_data else None


def store_sensor_cursor(
    instance: dg.DagsterInstance, sensor: dg.SensorDefinition, cursor: str | None
) -> None:
    """Store ``cursor`` as ``sensor``'s cursor in the instance, where the daemon resumes from it.

    A new state keeps the sensor's default status (DECLARED_IN_CODE for a sensor running by
    default, as the daemon itself records it); an existing one keeps its status and tick times.
    """
    from dagster._core.scheduler.instigation import (
        InstigatorState,
        InstigatorStatus,
        InstigatorType,
        SensorInstigatorData,
    )

    origin, state = _stored_state(instance, sensor.name)
    if state is None:
        running = sensor.default_status == dg.DefaultSensorStatus.RUNNING
        status = InstigatorStatus.DECLARED_IN_CODE if running else InstigatorStatus.STOPPED
        data = SensorInstigatorData(
            min_interval=sensor.minimum_interval_seconds,
            cursor=cursor,
            sensor_type=sensor.sensor_type,
        )
        instance.add_instigator_state(InstigatorState(origin, InstigatorType.SENSOR, status, data))
        return
    data = state.instigator_data or SensorInstigatorData(sensor_type=sensor.sensor_type)
    instance.update_instigator_state(state.with_data(data._replace(cursor=cursor)))
