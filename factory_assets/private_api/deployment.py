"""What dagster's code server, run worker and daemons do internally (deployment tests, a bench)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from pathlib import Path

import dagster as dg

_LOG = logging.getLogger(__name__)


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
