"""How steps run, the same in every tier: retries of contended commits, Kubernetes sizes.

Every step that opens the warehouse (a DuckLake, ``lib/lake.py``) takes ``**warehouse_step()``
(or ``**warehouse_step("gpu")`` for training): no pool, so steps of different runs and partitions
write side by side; a retry with jittered linear backoff for a commit that lost a race on the
lake's catalog (the whole step runs again, on the newest snapshot); and the
``dagster-k8s/config`` op tag that sizes the step's pod when the k8s_job_executor runs it. The
tag is inert under the multiprocess executor, so the embedded tier ignores it.

Every such step also yields the CPU (``yield_cpu``, ``FACTORY_STEP_NICE``): on one machine,
readers of the lake go first.

The dbt step alone is in a pool, ``DBT_POOL`` (one build at a time, limited in dagster.yaml),
for speed, not for safety. Two builds at once are safe: an incremental model's build also
rewrites its one-row guard (``dbt_project/macros/lake_build_guard.sql``), so the later of two
overlapping commits fails as contended and its step retries, instead of both appending a day
(two DuckLake commits that only append never conflict); that also covers a ``dbt build`` an
analyst runs by hand while the line runs. But every overlap costs a whole dbt build again:
4 runs at once over 30 days took 326 s with 18 retried steps on a SQLite catalog and 285 s
with 8 on Postgres with builds side by side, 192 s and 176 s with the pool of one (2 cores).
"""

import os
from typing import Literal

import dagster as dg

DBT_POOL = "dbt"
# Waits a random 0-1, 0-2, … 0-10 s (linear, full jitter): four writers on two cores whose
# commits collide on a SQLite catalog ("database is locked") spread out instead of colliding
# again; a deterministic failure costs ~28 s more on average before the step fails for good.
WAREHOUSE_RETRY = dg.RetryPolicy(
    max_retries=10, delay=1.0, backoff=dg.Backoff.LINEAR, jitter=dg.Jitter.FULL
)
K8S_CONFIG_TAG = "dagster-k8s/config"
GPU_NODE_SELECTOR = {"nvidia.com/gpu.present": "true"}  # label set by NVIDIA GPU discovery

Compute = Literal["small", "gpu"]

_POD_CONFIG: dict[str, dict] = {
    "small": {
        "container_config": {
            "resources": {
                "requests": {"cpu": "500m", "memory": "1Gi"},
                "limits": {"memory": "2Gi"},
            }
        },
    },
    "gpu": {
        "container_config": {
            "resources": {
                "requests": {"cpu": "4", "memory": "16Gi", "nvidia.com/gpu": "1"},
                "limits": {"memory": "24Gi", "nvidia.com/gpu": "1"},
            }
        },
        "pod_spec_config": {
            "node_selector": GPU_NODE_SELECTOR,
            "tolerations": [
                {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}
            ],
        },
    },
}


def k8s_op_tags(compute: Compute = "small") -> dict[str, dict]:
    """The ``dagster-k8s/config`` op tag that sizes a step's pod (requests, GPU, node)."""
    return {K8S_CONFIG_TAG: _POD_CONFIG[compute]}


def warehouse_step(compute: Compute = "small") -> dict:
    """Retry policy and pod size of a step that opens the warehouse (asset kwargs)."""
    return {
        "retry_policy": WAREHOUSE_RETRY,
        "op_tags": k8s_op_tags(compute),
    }


def yield_cpu(nice: int) -> None:
    """Run this step's process ``nice`` below normal priority (at least; never raised back).

    The line's steps are batch work: on one machine, a notebook, the DuckDB CLI or the Dagster
    UI querying the lake while a backfill runs should get the CPU first. Linux keeps a niceness
    per thread, and threads inherit their creator's: this is called in the step's main thread
    before it opens the lake, so DuckDB's, dbt's and torch's worker threads run at it too.
    Raising niceness needs no privilege; 0 leaves the process as it is. In a pod of its own
    (the k8s executor) it changes nothing that matters.
    """
    if nice > 0 and hasattr(os, "setpriority") and os.getpriority(os.PRIO_PROCESS, 0) < nice:
        os.setpriority(os.PRIO_PROCESS, 0, nice)


_STEP_SERVER_ENV: dict[str, str] = {}  # the environment the step forkserver was started in


def step_server_for_this_env() -> None:
    """Before a run in this process: a step forkserver started in another environment is stopped.

    The multiprocess executor forks step processes from one forkserver per process
    (``factory_assets/preload.py``), and they inherit its environment from when it started. A
    process that runs one job (a run worker) never sees a change; one that runs several (the
    ``factory`` CLI, a test session) calls this before each, so that a run whose settings
    changed starts a new server in the new environment. The stdlib has no public stop: this uses
    ``multiprocessing.forkserver``'s own (private, in 3.8 to 3.14); the next step restarts it.
    """
    from multiprocessing import forkserver

    current = dict(os.environ)
    if _STEP_SERVER_ENV and current != _STEP_SERVER_ENV:
        server = forkserver._forkserver  # noqa: SLF001
        if hasattr(server, "_stop"):
            server._stop()  # noqa: SLF001
    _STEP_SERVER_ENV.clear()
    _STEP_SERVER_ENV.update(current)
