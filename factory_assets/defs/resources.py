"""The resources dict and the executor of the line, from the settings (``settings.py``)."""

import dagster as dg

from factory_assets.components.model_line.results import ModelResults
from factory_assets.resources import (
    LandingZone,
    OnlineStore,
    ReportStore,
    RetrainPolicy,
    TrackingStore,
    Warehouse,
)
from factory_assets.settings import Settings, env_name, exported, settings

PRELOAD = "factory_assets.preload"  # imported by the forkserver the step processes fork from


def _value(current: Settings, field: str) -> str | dg.EnvVar:
    """A set variable as ``dg.EnvVar`` (resolved at run start, shown by name), else the default."""
    return dg.EnvVar(env_name(field)) if exported(field) else str(getattr(current, field) or "")


def executor() -> dg.ExecutorDefinition:
    """How a run executes its steps (FACTORY_EXECUTOR).

    ``multiprocess`` (default): up to 4 steps at once, each a subprocess forked from a server
    that has imported the line's modules once per run (``factory_assets/preload.py``).
    ``in_process``: steps one after another in the run worker, no process start per step (for
    small runs whose steps are short). ``k8s``: up to 4 steps at once, each its own pod, sized by
    its ``dagster-k8s/config`` op tag (factory_assets/execution.py), with the image, env and
    secrets of the code location. Pools hold across runs with every executor.
    """
    kind = settings().executor
    if kind == "k8s":
        from dagster_k8s import k8s_job_executor  # the kubernetes client: only where it runs

        return k8s_job_executor.configured({"max_concurrent": 4})
    if kind == "in_process":
        return dg.in_process_executor
    return dg.multiprocess_executor.configured(
        {"max_concurrent": 4, "start_method": {"forkserver": {"preload_modules": [PRELOAD]}}}
    )


@dg.definitions
def resources() -> dg.Definitions:
    """Warehouse, landing zone, MLflow store, and an executor of 4 steps at once."""
    current = settings()
    return dg.Definitions(
        resources={
            "duckdb": Warehouse(
                catalog=_value(current, "warehouse"),
                data_path=_value(current, "warehouse_data"),
                step_nice=current.step_nice,
            ),
            "landing": LandingZone(root=_value(current, "data_dir")),
            "reports": ReportStore(root=_value(current, "reports_dir")),
            "retrain_policy": RetrainPolicy(**current.retrain_overrides()),
            "model_results": ModelResults(root=_value(current, "results_dir")),
            "online": OnlineStore(root=_value(current, "online_dir")),
            "tracking": TrackingStore(
                tracking_uri=_value(current, "mlflow_tracking_uri"),
                artifact_location=_value(current, "mlflow_artifacts"),
            ),
        },
        executor=executor(),
    )
