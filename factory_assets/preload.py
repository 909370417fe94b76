"""What a run's step processes start from: the line's modules and definitions, built once.

The multiprocess executor forks its step processes from a forkserver that imports this module
once (``defs/resources.py``). Loading the definitions here imports dagster-dbt, dbt, polars,
duckdb and the line's own modules, and builds the definitions, so each step process starts with
them in memory instead of importing and building them again (~7 s of a core per step process,
and per retry of a step, measured on 2 cores; ~1 s left).

``SHARED`` are the libraries most model steps use (the registry, ONNX scoring, LightGBM, the
statistics of drift and performance): imported here once (~3.5 s) instead of in each step
process (a drift step of the year's replay spent 3.4 s of its 7.4 s importing them). Those only
a few steps use (torch and Lightning for training, Evidently for HTML reports,
great_expectations for the suites) are still imported where they are used: a run without such a
step would pay for them.

A forkserver keeps the environment it was started with: ``execution.step_server_for_this_env``
restarts it when a process that runs several jobs changes its environment between them.
"""

import importlib

from factory_assets import definitions

SHARED = (
    "mlflow",
    "mlflow.store.tracking.sqlalchemy_store",
    "mlflow.store.model_registry.sqlalchemy_store",
    "onnxruntime",
    "lightgbm",
    "scipy.stats",
    "scipy.spatial",
)

try:
    definitions.preload()
except Exception:  # noqa: BLE001, S110 (the step's own load raises it, with the step's context)
    pass
for name in SHARED:
    try:
        importlib.import_module(name)
    except Exception:  # noqa: BLE001, S112 (the step that uses it raises it, with its context)
        continue
