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
from factory_assets.lib.model_line import IDENTIFIER, SEGMENT_VALUE, ModelLine, Segments
from factory_assets.lib.training.dataset import ModelColumns

MANIFEST = Path(__file__).resolve().parents[2] / "dbt_project" / "target" / "manifest.json"
SEARCHABLE = {"lr", "dropout", "hidden", "max_epochs", "batch_size", "weight_decay"}


class SpecError(ValueError, ComponentTreeException):
    """A model spec that cannot be built: names the file, the field and what is allowed.

    As a ComponentTreeException, Dagster raises it as it is instead of wrapping it in its
    component tree: the message is the last line ``dg check defs`` and a failed load print.
    """


class DataSpec(dg.Model):
    """The table the model reads and which of its columns are what."""

    features: str
    key: str
    date: str
    label: str
    labels_from: str | None = None
    categorical: list[str] = []
    numeric: list[str] = []


class TrainingSpec(dg.Model):
    """Training window (validation: the ``val_days`` after it) and the net's knobs."""

    train_start: str
    train_end: str
    val_days: int = 14
    architecture: Literal["mlp"] = "mlp"
    hidden: list[int] = [64, 32]
    dropout: float = 0.1
    max_epochs: int = 6
    batch_size: int = 1024
    lr: float = 2e-3
    weight_decay: float = 1e-4
    seed: int = 13


class SearchSpec(dg.Model):
    """Optuna search: ``trials`` trials over ``space``, maximising validation AUROC."""

    trials: int
    space: dict[str, dict]


class EvaluationSpec(dg.Model):
    """The fixed holdout every challenger and champion is judged on, and its reports."""

    holdout_start: str
    holdout_end: str
    report_segments: list[str] = []
    importance_rows: int = 4000  # 0 skips permutation importance (the card says so)
    min_segment_rows: int = 200


class GateSpec(dg.Model):
    """Floors a challenger must pass, and the margin by which it must beat the champion."""

    min_auc: float = 0.6
    max_brier: float = 0.25
    margin: float = 0.002


class SegmentSpec(dg.Model):
    """One model per value of ``column``; under ``min_rows`` training rows, ``fallback`` serves."""

    column: str
    values: list[str]
    min_rows: int = 1000
    fallback: str


class DriftSpec(dg.Model):
    """Drift check: fails when the share of drifted inputs exceeds ``max_drifted_share``."""

    max_drifted_share: float = 0.65
    column_threshold: float = 0.1
    html_report: Literal["always", "drifted", "never"] = "always"
    ignore: list[str] = []


class PerformanceSpec(dg.Model):
    """Performance check on labelled served predictions."""

    min_auc: float = 0.58
    max_brier: float = 0.25
    min_rows: int = 100


class RetrainSpec(dg.Model):
    """Cool-down between retrains and the windows a retrain uses (data days)."""

    cooldown_days: int = 21
    train_days: int = 90
    val_days: int = 14
    holdout_days: int = 14


class MonitoringSpec(dg.Model):
    """Drift, performance and retraining settings."""

    drift: DriftSpec = DriftSpec()
    performance: PerformanceSpec = PerformanceSpec()
    retrain: RetrainSpec = RetrainSpec()


class ScheduleSpec(dg.Model):
    """When the model's scoring and monitoring run on the newest landed day."""

    cron: str
    timezone: str = "America/New_York"


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

    name: str
    description: str
    owners: list[str] = ["team:ml-platform"]
    data: DataSpec
    training: TrainingSpec
    search: SearchSpec | None = None
    evaluation: EvaluationSpec
    gate: GateSpec = GateSpec()
    segments: SegmentSpec | None = None
    monitoring: MonitoringSpec = MonitoringSpec()
    predictions_table: str | None = None
    schedule: ScheduleSpec | None = None

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

        line = self.line(context.path / "defs.yaml", warehouse_tables(MANIFEST))
        return build_line(self, line)

    def line(self, source: Path, tables: dict[str, tuple[str, ...]]) -> ModelLine:
        """The ModelLine this spec describes; raises SpecError naming file, field and rule."""
        from factory_assets.components.model_spec_checks import check_spec

        check_spec(self, source, tables)
        d = self.data
        segments = None
        if self.segments:
            s = self.segments
            segments = Segments(s.column, tuple(s.values), s.min_rows, s.fallback)
        return ModelLine(
            name=self.name,
            features=d.features,
            columns=ModelColumns(d.key, d.date, d.label, tuple(d.categorical), tuple(d.numeric)),
            labels_from=d.labels_from,
            segments=segments,
            predictions=self.predictions_table or "",
            drift_ignore=tuple(self.monitoring.drift.ignore),
            description=self.description,
        )


def parse_date(value: str) -> dt.date | None:
    """An ISO date, or None when ``value`` is not one."""
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        return None


__all__ = ["IDENTIFIER", "SEARCHABLE", "SEGMENT_VALUE", "ModelSpec", "SpecError", "parse_date"]
