"""The line's own resources: landing zone, MLflow store, online files, reports, retrain policy.

Their values come from ``defs/resources.py``, which builds the resources dict from the settings;
components and assets import the classes from here (components never import ``defs``).
"""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import dagster as dg
import duckdb

from factory_assets.execution import yield_cpu
from factory_assets.lib.calendar import Period
from factory_assets.lib.lake import Lake
from factory_assets.lib.sources import Dataset

if TYPE_CHECKING:
    from factory_assets.lib.registry import Registry


class Warehouse(dg.ConfigurableResource):
    """The DuckLake warehouse (``lib/lake.py``): a catalog, SQLite or Postgres, plus its data path.

    Every ``get_connection()`` is a new in-memory DuckDB with the lake attached as ``warehouse``
    and in use, so steps and outside readers share the lake, never a file lock.
    """

    catalog: str  # a SQLite catalog's path, or postgres:<conninfo>
    data_path: str = ""  # unset: the SQLite catalog's <catalog>.files/ folder
    step_nice: int = 0  # FACTORY_STEP_NICE: a step using the warehouse runs this much nicer

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        """In the step's process, before it opens the lake: yield the CPU to readers."""
        yield_cpu(self.step_nice)

    def lake(self) -> Lake:
        """Where the catalog and the data live."""
        return Lake.parse(self.catalog, self.data_path or None)

    @contextmanager
    def get_connection(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection to the lake, closed after."""
        with self.lake().connect() as conn:
            yield conn


class LandingZone(dg.ConfigurableResource):
    """Where upstream systems drop files: below ``<root>/landing``, as the source specs say."""

    root: str

    def newest_period(self, dataset: Dataset) -> Period | None:
        """The newest period every periodic source of ``dataset`` has landed a file for."""
        return dataset.newest_period(Path(self.root) / "landing")

    def newest_run(self, dataset: Dataset, run_key: str) -> dg.RunRequest | dg.SkipReason:
        """A run of ``dataset``'s newest landed period (run key ``<run_key>-<period>``: once)."""
        newest = self.newest_period(dataset)
        if newest is None:
            return dg.SkipReason(f"no period of {dataset.name} has landed under {self.root}")
        return dg.RunRequest(run_key=f"{run_key}-{newest.key}", partition_key=newest.key)

    def landed_batches(self, dataset: Dataset) -> list[str]:
        """The batches every batch source of ``dataset`` has landed a file for, sorted by key."""
        return dataset.landed_batches(Path(self.root) / "landing")


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

    def snapshots(self, model: str) -> Path:
        """Where ``model``'s online snapshots go; ``CURRENT`` names the live one."""
        from factory_assets.lib.online.contract import model_root

        return model_root(Path(self.root), model)

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
    every_days: int | None = None  # a scheduled retrain this long after the last (0: none)
    on_drift: bool | None = None  # whether a failed drift check retrains
    on_performance: bool | None = None  # whether a failed performance check retrains
    on_estimate: bool | None = None  # whether an estimate before labels past a bound retrains
