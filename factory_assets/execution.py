"""How steps run, the same in every tier: the warehouse pool, retries, Kubernetes sizes.

Every step that opens the DuckDB warehouse takes ``**warehouse_step()`` (or
``**warehouse_step("gpu")`` for training): the ``warehouse`` pool (one writer at a time, limited
in dagster.yaml), a retry with exponential backoff for lock contention from outside Dagster, and
the ``dagster-k8s/config`` op tag that sizes the step's pod when the k8s_job_executor runs it.
The tag is inert under the multiprocess executor, so the embedded tier ignores it.
"""

from typing import Literal

import dagster as dg

WAREHOUSE_POOL = "warehouse"
# Waits ~1, 3, 7 s (exponential, +/- 1 s jitter): enough for a query from outside Dagster to
# finish; a deterministic failure costs ~11 s more before the step fails for good.
WAREHOUSE_RETRY = dg.RetryPolicy(
    max_retries=3, delay=1.0, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS
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
    """Pool, retry policy and pod size of a step that opens the warehouse (asset kwargs)."""
    return {
        "pool": WAREHOUSE_POOL,
        "retry_policy": WAREHOUSE_RETRY,
        "op_tags": k8s_op_tags(compute),
    }
