"""One model's line without Dagster: its names, its tables and the SQL that feeds each station.

A ModelSpec (factory_assets/components/model_spec.py) is validated into a ModelLine; the
assets, checks, jobs and sensors of the model are built from it. Identifiers in here have been
checked against ``IDENTIFIER`` before any SQL is formed.
"""

import datetime as dt
import hashlib
import re
from dataclasses import dataclass, field

from factory_assets.lib.calendar import Calendar, Period
from factory_assets.lib.sources import Dataset
from factory_assets.lib.tasks import Task
from factory_assets.lib.training.dataset import ModelColumns

IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*$")
SEGMENT_VALUE = re.compile(r"^[A-Za-z0-9_.-]+$")
SPLIT_DAY = "_split_day"  # the virtual date column of a model without a time axis
SPLIT_EPOCH = dt.date(2000, 1, 1)  # virtual day 0
BUCKETS = 100  # hash buckets: one virtual day each, so the split is in whole percent


def split_bucket(key: object, seed: int) -> int:
    """The bucket of a key: the first 8 hex digits of md5("<key>:<seed>"), modulo 100.

    md5 is the same in every process, DuckDB version and language; ``Split.day_sql`` computes
    exactly this in DuckDB, and this function is its reference (and test oracle).
    """
    return int(hashlib.md5(f"{key}:{seed}".encode()).hexdigest()[:8], 16) % BUCKETS


@dataclass(frozen=True)
class Split:
    """A seeded split of a table without a time axis, by a hash of each row's key.

    Each key falls in one of ``BUCKETS`` buckets (``split_bucket``), bucket b being the virtual
    day ``SPLIT_EPOCH + b`` in the ``_split_day`` column every read of the feature table adds.
    Training is the first ``100 - val - holdout`` days, validation the next ``val``, the holdout
    the last ``holdout``: the date windows of a dated model, so the stations, their configs, the
    MLflow tags and the drift reference work unchanged. A key keeps its bucket for good: new
    batches add rows to each part, never move one.
    """

    val: int = 15
    holdout: int = 15
    seed: int = 13

    def day_sql(self, key: str) -> str:
        """DuckDB SQL of the virtual day of the key column ``key`` (an identifier)."""
        bucket = f"('0x' || left(md5(cast({key} as varchar) || ':{int(self.seed)}'), 8))::ubigint"
        return f"(date '{SPLIT_EPOCH}' + ({bucket} % {BUCKETS})::int)"

    def described(self) -> dict:
        """Its training, validation and holdout in words (the model card's windows)."""
        train, val = BUCKETS - self.val - self.holdout, self.val
        return {
            "train": f"in key-hash buckets 0-{train - 1} of {BUCKETS} (md5 of key:{self.seed})",
            "validation": f"in buckets {train}-{train + val - 1}",
            "holdout": f"in buckets {train + val}-{BUCKETS - 1}",
        }

    def windows(self) -> dict:
        """train_start, train_end, val_days, holdout_start, holdout_end as the configs take them."""
        train = BUCKETS - self.val - self.holdout

        def day(n: int) -> str:
            return (SPLIT_EPOCH + dt.timedelta(days=n)).isoformat()

        return {
            "train_start": day(0),
            "train_end": day(train - 1),
            "val_days": self.val,
            "holdout_start": day(train + self.val),
            "holdout_end": day(BUCKETS - 1),
        }


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
    label_lag: int = 0  # periods (batches) after its own that a period's labels land
    batches: str | None = None  # a batched dataset's dynamic partitions (scoring, monitoring)
    batch_column: str = "_batch"  # the feature table's column naming each row's batch
    split: Split | None = None  # a model without a time axis: its key-hash split
    task: Task = field(default_factory=Task)  # what it predicts: binary, regression, multiclass
    # the dataset's sources as the load parsed them (their landed periods), never re-read
    landing: Dataset | None = field(default=None, compare=False, repr=False)

    @property
    def hourly(self) -> bool:
        """Whether its periods are hours (compared as timestamps, not dates)."""
        return self.calendar is not None and self.calendar.grain == "hourly"

    def moment(self, boundary: dt.datetime) -> dt.datetime | dt.date:
        """A period boundary as the date column is compared with it: by the hour, or the date."""
        return boundary if self.hourly else boundary.date()

    def bounds(self, periods: list[Period]) -> list:
        """[start, end) of a run of periods as SQL parameters (dates unless hourly)."""
        return [
            self.moment(min(p.start for p in periods)),
            self.moment(max(p.end for p in periods)),
        ]

    def labelled_period(self, landed: Period) -> Period:
        """The period whose labels have landed by ``landed`` (``label_lag`` periods before)."""
        return self.calendar.shift(landed, -self.label_lag)

    def labelled_through(self, day: dt.date) -> dt.date:
        """The last day whose labels have landed by ``day``'s period."""
        return self.labelled_period(self.calendar.period_of(day)).last_day

    @property
    def partition_column(self) -> str:
        """The predictions table's partition column: ``_batch`` or ``_partition_date``."""
        return "_batch" if self.batches else "_partition_date"

    def params(self, keys: list[str]) -> list:
        """SQL parameters of a run of partitions: [start, end) of periods, or the batch list."""
        if self.batches:
            return [list(keys)]
        return self.bounds([self.calendar.period(key) for key in keys])

    def _date(self, alias: str = "") -> str:
        """SQL of a feature row's date: its date column, or its virtual day (a split)."""
        prefix = f"{alias}." if alias else ""
        if self.split:
            return self.split.day_sql(prefix + self.columns.key)
        return prefix + self.columns.date

    def _split_column(self, alias: str = "") -> str:
        """``, <virtual day> as _split_day`` for a split model's reads, else nothing."""
        return f", {self._date(alias)} as {SPLIT_DAY}" if self.split else ""

    def judged_batches(self, batches: list[str], landed: str, window: int = 1) -> list[str]:
        """The batches batch ``landed`` judges, oldest first ([] when there is none yet).

        Labels land ``label_lag`` batches late: ``landed`` brings those of the batch
        ``label_lag`` before it (batches in key order), judged with up to ``window - 1`` batches
        before that when it alone has too few rows.
        """
        order = sorted(batches)
        at = order.index(landed) - self.label_lag
        return order[max(0, at - window + 1) : at + 1] if at >= 0 else []

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
        extra = self._split_column("f")
        if self.labels_from:
            select = (
                f"select f.*, t.{c.label}{extra} from {self.features} f "
                f"join {self.labels_from} t using ({c.key})"
            )
        else:
            select = f"select f.*{extra} from {self.features} f"
        where = f" where {self._date('f')} between ? and ?"
        if segmented and self.segments:
            where += f" and f.{self.segments.column} in (select unnest(?))"
        # In key order: a view (a join) returns its rows in another order on each read, and the
        # seeded split and batches of training would then give another model each time.
        return select + where + f" order by f.{c.key}"

    def window_sql(self) -> str:
        """Feature rows of a date range (no label), in key order: a model's reference.

        A batched model's reference also stops at the newest batch it was trained with.
        """
        c = self.columns
        if self.split:  # a batched line's third parameter: its newest batch of reference
            batches = f" and {self.batch_column} <= ?" if self.batches else ""
            return (
                f"select *{self._split_column()} from {self.features} "
                f"where {self._date()} between ? and ?{batches} order by {c.key}"
            )
        return f"select * from {self.features} where {c.date} between ? and ? order by {c.key}"

    def periods_sql(self) -> str:
        """Feature rows of [start, end) (``bounds``) or of batches (``params``), in key order."""
        c = self.columns
        if self.batches:
            return (
                f"select *{self._split_column()} from {self.features} "
                f"where {self.batch_column} in (select unnest(?)) order by {c.key}"
            )
        return (
            f"select * from {self.features} where {c.date} >= ? and {c.date} < ? order by {c.key}"
        )

    @property
    def prediction_columns(self) -> tuple[str, ...]:
        """The predictions table's columns of what the task serves (Task.prediction_columns)."""
        import numpy as np

        return tuple(self.task.prediction_columns(np.zeros((0, self.task.outputs))))

    def scored_sql(self) -> str:
        """Feature rows of [start, end) (batches) with the prediction served for each, its model.

        ``prediction`` is the task's output column: the probability (binary), the value
        (regression) or the class (multiclass).
        """
        c = self.columns
        served = f"p.{self.task.output_column} as prediction, p.model_name, p.model_version"
        if self.batches:
            return (
                f"select f.*, {served} "
                f"from {self.features} f join {self.predictions} p using ({c.key}) "
                "where p._batch in (select unnest(?))"
            )
        return (
            f"select f.*, {served} "
            f"from {self.features} f join {self.predictions} p using ({c.key}) "
            f"where f.{c.date} >= ? and f.{c.date} < ?"
        )

    def labelled_predictions_sql(self) -> str:
        """Served predictions of [start, end) (batches) with their labels where those landed.

        The task's prediction columns (``prediction_columns``) as served, and ``label``.
        """
        c = self.columns
        served = ", ".join(f"p.{name}" for name in self.prediction_columns)
        if self.batches:
            return (
                f"select p._batch as served_at, {served}, p.model_name, p.model_version, "
                f"t.{c.label} as label "
                f"from {self.predictions} p join {self.label_table} t using ({c.key}) "
                f"where p._batch in (select unnest(?)) and t.{c.label} is not null"
            )
        return (
            f"select p.{c.date} as served_at, {served}, p.model_name, p.model_version, "
            f"t.{c.label} as label "
            f"from {self.predictions} p join {self.label_table} t using ({c.key}) "
            f"where p.{c.date} >= ? and p.{c.date} < ? and t.{c.label} is not null"
        )
