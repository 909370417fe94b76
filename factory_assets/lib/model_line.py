"""One model's line without Dagster: its names, its tables and the SQL that feeds each station.

A ModelSpec (factory_assets/components/model_spec.py) is validated into a ModelLine; the
assets, checks, jobs and sensors of the model are built from it. Identifiers in here have been
checked against ``IDENTIFIER`` before any SQL is formed.
"""

import datetime as dt
import re
from dataclasses import dataclass

from factory_assets.lib.calendar import Calendar, Period
from factory_assets.lib.training.dataset import ModelColumns

IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*$")
SEGMENT_VALUE = re.compile(r"^[A-Za-z0-9_.-]+$")


@dataclass(frozen=True)
class Segments:
    """One model per value of ``column``; values with too few rows use ``fallback``'s champion."""

    column: str
    values: tuple[str, ...]
    min_rows: int
    fallback: str


@dataclass(frozen=True)
class ModelLine:
    """Names, tables and SQL of one model's line."""

    name: str
    features: str  # the table the model reads (an asset: dbt model or Python feature table)
    columns: ModelColumns
    labels_from: str | None = None  # a table joined on the key that holds the label
    segments: Segments | None = None
    predictions: str = ""  # the table of served predictions (default <name>_predictions)
    drift_ignore: tuple[str, ...] = ()
    description: str = ""  # the spec's words for what the model predicts (the model card's)
    dataset: str = ""  # the dataset whose calendar partitions scoring and monitoring
    calendar: Calendar | None = None
    label_lag: int = 0  # periods after its own that a period's labels land

    def bounds(self, periods: list[Period]) -> list:
        """[start, end) of a run of periods as SQL parameters (dates unless hourly)."""
        start, end = min(p.start for p in periods), max(p.end for p in periods)
        if self.calendar is not None and self.calendar.grain == "hourly":
            return [start, end]
        return [start.date(), end.date()]

    def labelled_period(self, landed: Period) -> Period:
        """The period whose labels have landed by ``landed`` (``label_lag`` periods before)."""
        return self.calendar.shift(landed, -self.label_lag)

    def labelled_through(self, day: dt.date) -> dt.date:
        """The last day whose labels have landed by ``day``'s period."""
        return self.labelled_period(self.calendar.period_of(day)).last_day

    def __post_init__(self) -> None:
        if not self.predictions:
            object.__setattr__(self, "predictions", f"{self.name}_predictions")

    def asset(self, station: str) -> str:
        """Asset key of a station: model, evaluation, package, drift_report, ..."""
        if station == "predictions":
            return self.predictions
        return f"{self.name}_{station}"

    @property
    def drift_table(self) -> str:
        """Per-day, per-column drift scores."""
        return f"{self.name}_drift"

    @property
    def performance_table(self) -> str:
        """Per-day AUC / Brier of served predictions."""
        return f"{self.name}_performance"

    @property
    def label_table(self) -> str:
        """Where the label is read: ``labels_from`` or the feature table itself."""
        return self.labels_from or self.features

    def registry_name(self, segment: str | None = None) -> str:
        """The registered model of the whole model, or of one segment."""
        return self.name if segment is None else f"{self.name}-{segment}"

    def owns(self, registered: str) -> bool:
        """Whether a registered model is this model or one of its segments (not a fallback)."""
        return registered == self.name or registered.startswith(f"{self.name}-")

    def labelled_sql(self, segmented: bool = False) -> str:
        """Feature rows with the label, for a date range (and a list of segment values)."""
        c = self.columns
        if self.labels_from:
            select = (
                f"select f.*, t.{c.label} from {self.features} f "
                f"join {self.labels_from} t using ({c.key})"
            )
        else:
            select = f"select f.* from {self.features} f"
        where = f" where f.{c.date} between ? and ?"
        if segmented and self.segments:
            where += f" and f.{self.segments.column} in (select unnest(?))"
        # In key order: a view (a join) returns its rows in another order on each read, and the
        # seeded split and batches of training would then give another model each time.
        return select + where + f" order by f.{c.key}"

    def window_sql(self) -> str:
        """Feature rows of a date range (no label), in key order: a model's reference."""
        c = self.columns
        return f"select * from {self.features} where {c.date} between ? and ? order by {c.key}"

    def periods_sql(self) -> str:
        """Feature rows of [start, end) (``bounds``), to score, in key order."""
        c = self.columns
        return (
            f"select * from {self.features} where {c.date} >= ? and {c.date} < ? order by {c.key}"
        )

    def scored_sql(self) -> str:
        """Feature rows of [start, end) with the prediction served for each and its model."""
        c = self.columns
        return (
            f"select f.*, p.probability as prediction, p.model_name, p.model_version "
            f"from {self.features} f join {self.predictions} p using ({c.key}) "
            f"where f.{c.date} >= ? and f.{c.date} < ?"
        )

    def labelled_predictions_sql(self) -> str:
        """Served predictions of [start, end) with their labels where those have landed."""
        c = self.columns
        return (
            f"select p.{c.date} as served_at, p.probability, p.model_name, p.model_version, "
            f"t.{c.label} as label "
            f"from {self.predictions} p join {self.label_table} t using ({c.key}) "
            f"where p.{c.date} >= ? and p.{c.date} < ? and t.{c.label} is not null"
        )
