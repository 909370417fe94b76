"""ModelSpec: one YAML file per model gives its whole line.

``defs/models/<name>/defs.yaml`` names the feature table, the label, the windows, the net and
its search space, the gate, the segments, the monitoring thresholds and the schedule; the
component builds training, evaluation, gate and packaging, batch scoring, the drift report, the
performance check, the retrain and promotion sensors and the jobs (component_line/).
"""

import datetime as dt
from pathlib import Path
from typing import Literal, Self

import dagster as dg
import pydantic
from dagster.components.core.component_tree import ComponentTreeException

from factory_assets.components.model_spec_scaffold import ModelSpecScaffolder
from factory_assets.lib.catalog import warehouse_tables
from factory_assets.lib.model_line import (
    IDENTIFIER,
    SEGMENT_VALUE,
    SPLIT_DAY,
    ModelLine,
    Segments,
    Split,
)
from factory_assets.lib.sources import Dataset, datasets, read_specs, shipped_specs
from factory_assets.lib.training.dataset import ModelColumns

MANIFEST = Path(__file__).resolve().parents[2] / "dbt_project" / "target" / "manifest.json"
SEARCHABLE = {"lr", "dropout", "hidden", "max_epochs", "batch_size", "weight_decay"}


class SpecError(ValueError, ComponentTreeException):
    """A model spec that cannot be built: names the file, the field and what is allowed.

    As a ComponentTreeException, Dagster raises it as it is instead of wrapping it in its
    component tree: the message is the last line ``dg check defs`` and a failed load print.
    """


def _f(default: object = ..., text: str = "") -> object:
    """A field with its description (shown by ``dg docs``, ``dg list components``, README)."""
    if isinstance(default, list):
        return pydantic.Field(default_factory=lambda: list(default), description=text)
    return pydantic.Field(default, description=text)


class DataSpec(dg.Model):
    """The table the model reads and which of its columns are what."""

    features: str = _f(text="The feature table (a dbt model or a Python feature asset).")
    key: str = _f(text="Its key column: one row per key.")
    date: str | None = _f(
        None,
        "Its date (or timestamp) column: windows and periods are cut by it. Omit it for a "
        "table without a time axis (a batched dataset): the model then trains on a seeded "
        "split by key hash (training.split).",
    )
    label: str = _f(text="The label column (0/1): in the features, or in labels_from.")
    labels_from: str | None = _f(None, "A table joined on the key that holds the label.")
    label_lag: int = _f(
        0, "Periods (batches) after its own that a period's (batch's) labels land (monitoring)."
    )
    batch_column: str = _f(
        "_batch",
        "Batched datasets: the feature table's column naming each row's batch (carried from "
        "its raw source's _batch); a batch is scored and monitored by it.",
    )
    dataset: str | None = _f(
        None,
        "The dataset whose calendar (or batches) partitions scoring and monitoring; default: "
        "the one periodic or batched dataset the feature table is built from.",
    )
    categorical: list[str] = _f([], "Categorical inputs (known before the outcome).")
    numeric: list[str] = _f([], "Numeric inputs (known before the outcome).")


class SplitSpec(dg.Model):
    """A model without data.date: percent of keys (by a seeded hash) that validate and hold out."""

    val: int = _f(15, "Percent of keys that validate (early stopping, search).")
    holdout: int = _f(15, "Percent of keys held out (evaluation and the gate); the rest trains.")


class TrainingSpec(dg.Model):
    """Training window (validation: the ``val_days`` after it) and the net's knobs."""

    train_start: str | None = _f(
        None, "First day of the training window (YYYY-MM-DD); required with data.date."
    )
    train_end: str | None = _f(None, "Last day of the training window; required with data.date.")
    split: SplitSpec | None = _f(
        None,
        "Without data.date only: the key-hash split (default 15 % validation, 15 % holdout, "
        "seeded by training.seed).",
    )
    val_days: int = _f(14, "Days after train_end that validate (early stopping, search).")
    architecture: Literal["mlp"] = _f("mlp", "The net: embeddings for categories + an MLP.")
    hidden: list[int] = _f([64, 32], "Widths of the hidden layers.")
    dropout: float = _f(0.1, "Dropout between hidden layers.")
    max_epochs: int = _f(6, "Epochs at most.")
    batch_size: int = _f(1024, "Rows per batch.")
    lr: float = _f(2e-3, "AdamW learning rate.")
    weight_decay: float = _f(1e-4, "AdamW weight decay.")
    seed: int = _f(13, "Seed of the split, the weights and the batch order.")


class SearchSpec(dg.Model):
    """Optuna search: ``trials`` trials over ``space``, maximising validation AUROC."""

    trials: int = _f(text="Trials to run.")
    space: dict[str, dict] = _f(text="Parameter -> {low, high} or {choices}.")


class EvaluationSpec(dg.Model):
    """The fixed holdout every challenger and champion is judged on, and its reports."""

    holdout_start: str | None = _f(
        None, "First day of the holdout (after the validation days); required with data.date."
    )
    holdout_end: str | None = _f(None, "Last day of the holdout; required with data.date.")
    report_segments: list[str] = _f([], "Inputs whose values get their own metrics.")
    importance_rows: int = _f(4000, "Rows for permutation importance; 0 skips it.")
    min_segment_rows: int = _f(200, "Fewest rows a reported segment has.")


class GateSpec(dg.Model):
    """Floors a challenger must pass, and the margin by which it must beat the champion."""

    min_auc: float = _f(0.6, "Holdout AUC floor.")
    max_brier: float = _f(0.25, "Holdout Brier ceiling.")
    margin: float = _f(0.002, "AUC by which a challenger must beat the champion.")


class SegmentSpec(dg.Model):
    """One model per value of ``column``; under ``min_rows`` training rows, ``fallback`` serves."""

    column: str = _f(text="The input whose values get their own model.")
    values: list[str] = _f(text="The values (one registered model <name>-<value> each).")
    min_rows: int = _f(1000, "Fewest training rows a segment's own model needs.")
    fallback: str = _f(text="The model whose champion serves a segment under min_rows.")


class DriftSpec(dg.Model):
    """Drift check: fails when the share of drifted inputs exceeds ``max_drifted_share``."""

    max_drifted_share: float = _f(0.65, "The check fails above this share of drifted inputs.")
    column_threshold: float = _f(0.1, "Evidently's per-column drift threshold.")
    html_report: Literal["always", "drifted", "never"] = _f(
        "always", "When to save Evidently's HTML report."
    )
    ignore: list[str] = _f([], "Inputs left out of drift (calendar inputs drift by design).")


class PerformanceSpec(dg.Model):
    """Performance check on labelled served predictions."""

    min_auc: float = _f(0.58, "Served AUC floor.")
    max_brier: float = _f(0.25, "Served Brier ceiling.")
    min_rows: int = _f(100, "Fewest labelled rows a verdict needs.")
    window: int = _f(1, "Periods judged together at most when one has under min_rows.")


class RetrainSpec(dg.Model):
    """Cool-down between retrains and the windows a retrain uses (data days)."""

    cooldown_days: int = _f(
        21,
        "Data days after a retrain before the next may start (batches, for a model without "
        "data.date).",
    )
    train_days: int = _f(90, "Training window of a retrain.")
    val_days: int = _f(14, "Validation days of a retrain.")
    holdout_days: int = _f(14, "Holdout days of a retrain: the newest labelled ones.")


class MonitoringSpec(dg.Model):
    """Drift, performance and retraining settings."""

    drift: DriftSpec = _f(DriftSpec(), "Drift check.")
    performance: PerformanceSpec = _f(PerformanceSpec(), "Performance check.")
    retrain: RetrainSpec = _f(RetrainSpec(), "What a failed check's retrain uses.")


class ScheduleSpec(dg.Model):
    """When the model's scoring and monitoring run on the newest landed period."""

    cron: str = _f(text="Cron expression.")
    timezone: str = _f("America/New_York", "The cron's time zone.")


class ModelSpecAttributes(pydantic.BaseModel):
    """What Dagster checks before ``ModelSpec.load``: any mapping.

    ``load`` validates it against the spec's schema knowing its file, so ``dg check defs`` (whose
    YAML pre-check validates one file per component type) and every load report a bad spec the
    same way.
    """

    model_config = pydantic.ConfigDict(extra="allow")


@dg.scaffold_with(ModelSpecScaffolder)
class ModelSpec(dg.Component, dg.Model, dg.Resolvable):
    """A model and its whole line from one YAML file; the fields are the YAML schema."""

    name: str = _f(text="The model: <name>_model, <name>_package, retrain_<name>, ...")
    description: str = _f(text="What it predicts, in the data's own words (the model card).")
    owners: list[str] = _f(["team:ml-platform"], "Owners of its assets.")
    data: DataSpec = _f(text="The table the model reads and which of its columns are what.")
    training: TrainingSpec = _f(TrainingSpec(), "Training window (or split) and the net's knobs.")
    search: SearchSpec | None = _f(None, "Optional Optuna search.")
    evaluation: EvaluationSpec = _f(EvaluationSpec(), "The fixed holdout and its reports.")
    gate: GateSpec = _f(GateSpec(), "What a challenger must pass to become champion.")
    segments: SegmentSpec | None = _f(None, "Optional: one model per value of a column.")
    monitoring: MonitoringSpec = _f(MonitoringSpec(), "Drift, performance and retraining.")
    predictions_table: str | None = _f(None, "Served predictions' table (<name>_predictions).")
    schedule: ScheduleSpec | None = _f(None, "Optional: score and monitor on a cron.")

    @classmethod
    def get_model_cls(cls) -> type[pydantic.BaseModel]:
        """The attributes Dagster checks before ``load``: any mapping (see ModelSpecAttributes)."""
        return ModelSpecAttributes

    @classmethod
    def load(cls, attributes: pydantic.BaseModel | None, context: dg.ComponentLoadContext) -> Self:
        """Validate the attributes against the schema; SpecError names file, line and field."""
        from factory_assets.components.model_spec_schema import schema_error

        tree = context.resolution_context.source_position_tree
        raw = attributes.model_dump() if attributes is not None else {}
        try:
            model = pydantic.TypeAdapter(cls.model()).validate_python(raw)
            return super().load(model, context)  # resolving builds ModelSpec: validated again
        except pydantic.ValidationError as err:
            text = schema_error(err, cls, context.path / "defs.yaml", tree)
            raise SpecError(text) from None

    def build_defs(self, context: dg.ComponentLoadContext) -> dg.Definitions:
        """Validate the spec, then build the model's assets, checks, jobs and sensors."""
        from factory_assets.components.model_line.build import build_line

        specs = {**shipped_specs(), **read_specs(context.defs_module_path)}
        line = self.line(context.path / "defs.yaml", warehouse_tables(MANIFEST), datasets(specs))
        return build_line(self, line)

    def line(
        self,
        source: Path,
        tables: dict[str, tuple[str, ...]],
        known: dict[str, Dataset] | None = None,
    ) -> ModelLine:
        """The ModelLine this spec describes; raises SpecError naming file, field and rule.

        Its calendar (or batches) is its dataset's: ``data.dataset``, or the one dataset with
        periods or batches that its feature table is built from (``known``: the shipped specs'
        by default).
        """
        from factory_assets.components.model_spec_checks import check_spec, check_time_axis

        check_spec(self, source, tables)
        dataset = self.resolve_dataset(source, known or datasets(shipped_specs()))
        check_time_axis(self, source, dataset, tables)
        d = self.data
        segments = None
        if self.segments:
            s = self.segments
            segments = Segments(s.column, tuple(s.values), s.min_rows, s.fallback)
        return ModelLine(
            name=self.name,
            features=d.features,
            columns=ModelColumns(
                d.key, d.date or SPLIT_DAY, d.label, tuple(d.categorical), tuple(d.numeric)
            ),
            labels_from=d.labels_from,
            segments=segments,
            predictions=self.predictions_table or "",
            drift_ignore=tuple(self.monitoring.drift.ignore),
            dataset=dataset.name,
            calendar=dataset.calendar,
            label_lag=d.label_lag,
            description=self.description,
            batches=dataset.partitions_name if dataset.batched else None,
            batch_column=d.batch_column,
            split=self.split(),
        )

    def split(self) -> Split | None:
        """The key-hash split of a model without ``data.date`` (None for a dated model)."""
        if self.data.date is not None:
            return None
        s = self.training.split or SplitSpec()
        return Split(s.val, s.holdout, self.training.seed)

    def windows(self) -> dict:
        """train_start, train_end, val_days, holdout_start, holdout_end: the spec's or split's."""
        split = self.split()
        if split is not None:
            return split.windows()
        t, e = self.training, self.evaluation
        return {
            "train_start": t.train_start,
            "train_end": t.train_end,
            "val_days": t.val_days,
            "holdout_start": e.holdout_start,
            "holdout_end": e.holdout_end,
        }

    def resolve_dataset(self, source: Path, known: dict[str, Dataset]) -> Dataset:
        """The dataset whose calendar (or batches) the model takes; SpecError unless one fits."""
        from factory_assets.components.model_spec_checks import resolve_dataset

        return resolve_dataset(self, source, known)


def parse_date(value: str) -> dt.date | None:
    """An ISO date, or None when ``value`` is not one."""
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        return None


__all__ = ["IDENTIFIER", "SEARCHABLE", "SEGMENT_VALUE", "ModelSpec", "SpecError", "parse_date"]
