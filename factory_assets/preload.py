"""What a run's step processes start from: the line's modules and definitions, built once.

The multiprocess executor forks its step processes from a forkserver that imports this module
once (``defs/resources.py``). Loading the definitions here imports dagster-dbt, dbt, polars,
duckdb and the line's own modules, and builds the definitions, so each step process starts with
them in memory instead of importing and building them again (~7 s of a core per step process,
and per retry of a step, measured on 2 cores; ~1 s left). The heavy libraries only some steps
use (torch, mlflow, evidently, great_expectations) are still imported where they are used.

A forkserver keeps the environment it was started with: ``execution.step_server_for_this_env``
restarts it when a process that runs several jobs changes its environment between them.
"""

from factory_assets import definitions

try:
    definitions.preload()
except Exception:  # noqa: BLE001, S110 (the step's own load raises it, with the step's context)
    pass
