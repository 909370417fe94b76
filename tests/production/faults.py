"""A run worker whose steps pause once at a named point, so a test can kill -9 them there.

``python -m tests.production.faults KEYS CONFIG_JSON [START END]`` runs the assets KEYS (comma
separated) as one run on the instance of $DAGSTER_HOME with the project's multiprocess executor;
``python -m tests.production.faults --reexecute RUN_ID`` re-executes a failed run from failure.
Each prints ``RUN <run id> <status>``.

The job is reconstructed from this module in every step subprocess, so the pause is installed
in the process that gets killed. FACTORY_TEST_PAUSE=<point>=<marker file> names the point; the
step writes its pid to the marker and sleeps. A later attempt finds the marker and goes through.
Points: ``insert:<table>`` (inside a warehouse write transaction, after <table>'s new rows went
in) and ``registered`` (after a model version was created, before its alias moved).
"""

import json
import os
import sys
import time
from pathlib import Path

import dagster as dg

PAUSE_VAR = "FACTORY_TEST_PAUSE"
RUN_TAGS = (
    "factory/test_keys",
    "dagster/asset_partition_range_start",
    "dagster/asset_partition_range_end",
)
MODULE = "tests.production.faults"  # not __main__: step subprocesses import it by name


def _pause(point: str) -> None:
    name, _, marker = os.environ.get(PAUSE_VAR, "").partition("=")
    if name != point or not marker or Path(marker).exists():
        return
    Path(marker).write_text(str(os.getpid()))
    time.sleep(600)


def _install_pauses() -> None:
    from factory_assets.lib import registry, warehouse

    insert, register = warehouse._insert, registry.Registry.register

    def paused_insert(conn, table, frame):  # noqa: ANN001, ANN202
        insert(conn, table, frame)
        if frame.height:
            _pause(f"insert:{table}")

    def paused_register(self, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        version = register(self, *args, **kwargs)
        _pause("registered")
        return version

    warehouse._insert = paused_insert
    registry.Registry.register = paused_register


def job(keys: str) -> dg.JobDefinition:
    """A job of the code location's assets ``keys``, with the pauses installed."""
    from factory_assets.definitions import defs

    _install_pauses()
    selected = dg.define_asset_job("fault_injected", selection=keys.split(","))
    return dg.Definitions.merge(defs(), dg.Definitions(jobs=[selected])).resolve_job_def(
        "fault_injected"
    )


def main(argv: list[str]) -> int:
    """Run (or re-execute) on the instance of $DAGSTER_HOME; print the run id and status."""
    with dg.DagsterInstance.get() as instance:
        if argv[0] == "--reexecute":
            parent = instance.get_run_by_id(argv[1])
            recon = dg.build_reconstructable_job(
                MODULE, "job", reconstructable_args=(parent.tags["factory/test_keys"],)
            )
            options = dg.ReexecutionOptions.from_failure(argv[1], instance)
            # as the UI's re-execution does: same days (partition range) as the failed run
            tags = {k: v for k, v in parent.tags.items() if k in RUN_TAGS}
            result = dg.execute_job(
                recon,
                instance=instance,
                reexecution_options=options,
                tags=tags,
                raise_on_error=False,
            )
        else:
            keys, config = argv[0], json.loads(argv[1])
            tags = {"factory/test_keys": keys}
            if len(argv) > 2:
                tags["dagster/asset_partition_range_start"] = argv[2]
                tags["dagster/asset_partition_range_end"] = argv[3]
            recon = dg.build_reconstructable_job(MODULE, "job", reconstructable_args=(keys,))
            result = dg.execute_job(
                recon, instance=instance, run_config=config, tags=tags, raise_on_error=False
            )
        run = instance.get_run_by_id(result.run_id)
        print(f"RUN {run.run_id} {run.status.value}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
