"""Step processes start from a forkserver that has the line built, in the run's environment."""

import multiprocessing
import os

import pytest

from factory_assets.defs.resources import PRELOAD, executor
from factory_assets.execution import step_server_for_this_env

VARIABLE = "FACTORY_TEST_STEP_SERVER"


def _seen(queue: multiprocessing.Queue) -> None:
    """In a step process: the variable, and whether the definitions came built from the server."""
    from factory_assets import definitions

    built = bool(definitions._PRELOADED) and definitions.defs() is definitions._PRELOADED[0]
    queue.put((os.environ.get(VARIABLE), built))


def _child() -> tuple[str | None, bool]:
    """What a process forked from the step forkserver sees."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["dagster._core.executor.multiprocess", PRELOAD])
    queue = context.Queue()
    process = context.Process(target=_seen, args=(queue,))
    process.start()
    process.join(timeout=120)
    assert process.exitcode == 0
    return queue.get(timeout=5)


def test_the_executor_forks_steps_from_a_server_that_preloads_the_line() -> None:
    config = executor().config_schema.resolve_config({}).value["config"]  # what a run gets
    assert config["start_method"] == {"forkserver": {"preload_modules": [PRELOAD]}}


def test_a_step_process_gets_the_built_definitions_and_a_changed_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(VARIABLE, "first")
    step_server_for_this_env()
    first = _child()
    assert first == ("first", True)

    monkeypatch.setenv(VARIABLE, "second")
    assert _child()[0] == "first"  # the running server keeps the environment it started with
    step_server_for_this_env()  # what the CLI does before each run
    assert _child() == ("second", True)
