"""Resources and executor of the line; the only Python module that reads the environment."""

import os
from pathlib import Path
from typing import TYPE_CHECKING

import dagster as dg
from dagster_duckdb import DuckDBResource

from factory_assets.components.model_line.results import ModelResults
from factory_assets.lib.calendar import Period
from factory_assets.specs import shipped_datasets

if TYPE_CHECKING:
    from factory_assets.lib.registry import Registry

PROJECT_ROOT = Path(__file__).resolve().parents[2]


class LandingZone(dg.ConfigurableResource):
    """Where upstream systems drop files: below ``<root>/landing``, as the source specs say."""

    root: str

    def newest_period(self, dataset: str) -> Period | None:
        """The newest period every periodic source of ``dataset`` has landed a file for."""
        return shipped_datasets()[dataset].newest_period(Path(self.root) / "landing")

    def newest_run(self, dataset: str, run_key: str) -> dg.RunRequest | dg.SkipReason:
        """A run of ``dataset``'s newest landed period (run key ``<run_key>-<period>``: once)."""
        newest = self.newest_period(dataset)
        if newest is None:
            return dg.SkipReason(f"no period of {dataset} has landed under {self.root}")
        return dg.RunRequest(run_key=f"{run_key}-{newest.key}", partition_key=newest.key)

    def landed_batches(self, dataset: str) -> list[str]:
        """The batches every batch source of ``dataset`` has landed a file for, sorted by key."""
        return shipped_datasets()[dataset].landed_batches(Path(self.root) / "landing")


class TrackingStore(dg.ConfigurableResource):
    """MLflow tracking server or store and the registry on it, plus where artifacts go."""

    tracking_uri: str
    artifact_location: str

    def registry(self) -> "Registry":
        """The model registry on this store."""
        from factory_assets.lib.registry import Registry

        if self.tracking_uri.startswith("sqlite:///"):
            Path(self.tracking_uri.removeprefix("sqlite:///")).parent.mkdir(
                parents=True, exist_ok=True
            )
        return Registry(self.tracking_uri)


class OnlineStore(dg.ConfigurableResource):
    """Files the scoring service reads (snapshots) and writes (shadow logs); never DuckDB."""

    root: str

    @property
    def snapshots(self) -> Path:
        """Where online feature snapshots go; ``CURRENT`` names the live one."""
        return Path(self.root) / "snapshots"

    @property
    def shadow(self) -> Path:
        """Where the service appends its shadow-scoring logs."""
        return Path(self.root) / "shadow"


class ReportStore(dg.ConfigurableResource):
    """Where monitoring writes its HTML reports and plots, one folder per model."""

    root: str

    def path(self, model: str, name: str) -> Path:
        """The file ``name`` of ``model``'s reports."""
        return Path(self.root) / model / name


class RetrainPolicy(dg.ConfigurableResource):
    """When a failed monitoring check may start a retrain, and on which windows.

    Days are data (partition) days. A retrain trains on ``train_days``, validates on the
    ``val_days`` after them and is gated on the ``holdout_days`` that end the day before the
    failed day (the newest labels).

    Unset fields take each model spec's own ``monitoring.retrain`` values; set ones (from
    ``FACTORY_RETRAIN_*``) apply to every model.
    """

    cooldown_days: int | None = None
    train_days: int | None = None
    val_days: int | None = None
    holdout_days: int | None = None


def sensor_interval_s() -> int:
    """Seconds between two evaluations of a monitoring sensor (FACTORY_SENSOR_INTERVAL_S)."""
    return int(os.environ.get("FACTORY_SENSOR_INTERVAL_S", "30"))


def _setting(name: str, default: Path) -> str | dg.EnvVar:
    """The environment variable where it is set (shown as such in the UI), else the default."""
    return dg.EnvVar(name) if os.environ.get(name) else str(default)


def data_dir() -> Path:
    """Root of the landing zone and other external data (FACTORY_DATA_DIR, default data/)."""
    return Path(os.environ.get("FACTORY_DATA_DIR") or PROJECT_ROOT / "data")


def _state_dir() -> Path:
    return Path(os.environ.get("FACTORY_STATE_DIR") or PROJECT_ROOT / ".factory")


def state_dir() -> Path:
    """Local state: warehouse, Dagster home, MLflow, logs (FACTORY_STATE_DIR, default .factory/)."""
    return _state_dir()


def _warehouse_path() -> Path:
    default = _state_dir() / "warehouse.duckdb"
    # dbt reads the same variable in dbt_project/profiles.yml: both must open the same file.
    os.environ.setdefault("FACTORY_WAREHOUSE", str(default))
    return default


def executor() -> dg.ExecutorDefinition:
    """How a run executes its steps (FACTORY_EXECUTOR).

    ``multiprocess`` (default): up to 4 steps at once, each a subprocess. ``in_process``: steps
    one after another in the run worker, no process start per step (for runs whose steps are
    all in the ``warehouse`` pool anyway). ``k8s``: up to 4 steps at once, each its own pod,
    sized by its ``dagster-k8s/config`` op tag (factory_assets/execution.py), with the image,
    env and secrets of the code location. Pools hold across runs with every executor.
    """
    kind = os.environ.get("FACTORY_EXECUTOR", "multiprocess")
    if kind == "k8s":
        from dagster_k8s import k8s_job_executor  # the kubernetes client: only where it runs

        return k8s_job_executor.configured({"max_concurrent": 4})
    if kind == "in_process":
        return dg.in_process_executor
    return dg.multiprocess_executor.configured({"max_concurrent": 4})


@dg.definitions
def resources() -> dg.Definitions:
    """Warehouse, landing zone, MLflow store, and an executor of 4 steps at once."""
    return dg.Definitions(
        resources={
            "duckdb": DuckDBResource(database=_setting("FACTORY_WAREHOUSE", _warehouse_path())),
            "landing": LandingZone(root=_setting("FACTORY_DATA_DIR", data_dir())),
            "reports": ReportStore(root=_setting("FACTORY_REPORTS_DIR", _state_dir() / "reports")),
            "retrain_policy": RetrainPolicy(
                **{
                    field: int(os.environ[f"FACTORY_RETRAIN_{field.upper()}"])
                    for field in ("cooldown_days", "train_days", "val_days", "holdout_days")
                    if os.environ.get(f"FACTORY_RETRAIN_{field.upper()}")
                }
            ),
            "model_results": ModelResults(
                root=_setting("FACTORY_RESULTS_DIR", _state_dir() / "model_results")
            ),
            "online": OnlineStore(root=_setting("FACTORY_ONLINE_DIR", _state_dir() / "online")),
            "tracking": TrackingStore(
                tracking_uri=_setting(
                    "FACTORY_MLFLOW_TRACKING_URI", f"sqlite:///{_state_dir() / 'mlflow.db'}"
                ),
                artifact_location=_setting(
                    "FACTORY_MLFLOW_ARTIFACTS", (_state_dir() / "mlartifacts").as_uri()
                ),
            ),
        },
        executor=executor(),
    )
