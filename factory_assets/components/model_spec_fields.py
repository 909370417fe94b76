"""The fields of a model spec, below its top level: each a constraint, each rule a validator.

``ModelSpec`` (model_spec.py) holds these; rules that need the warehouse or the sources are in
model_spec_checks.py. Errors read ``<file:line>: <field>: <problem>; allowed: ...``
(lib/specs/errors.py).
"""

import datetime as dt
from typing import Self

import dagster as dg
import pydantic

from factory_assets.components.model_spec_monitoring import (  # noqa: F401 (re-exported)
    DriftSpec,
    MonitoringSpec,
    PerformanceSpec,
    RetrainSpec,
)
from factory_assets.components.model_spec_monitoring import spec_field as _f
from factory_assets.lib.model_line import IDENTIFIER
from factory_assets.lib.specs.errors import pattern, rule

Identifier = pattern(IDENTIFIER.pattern, "a plain identifier", "lowercase letters, digits and _, "
                     "starting with a letter or _ (no quotes, semicolons or spaces)")  # fmt: skip
SegmentValue = pattern(r"^[A-Za-z0-9_.-]+$", "a model name's end", "letters, digits, '_', '-', '.'")


def parse_date(value: str | None) -> dt.date | None:
    """An ISO date, or None when ``value`` is not one."""
    try:
        return dt.date.fromisoformat(value)
    except (TypeError, ValueError):
        return None


class DataSpec(dg.Model):
    """The table the model reads and which of its columns are what."""

    features: Identifier = _f(text="The feature table (a dbt model or a Python feature asset).")
    key: Identifier = _f(text="Its key column: one row per key.")
    date: Identifier | None = _f(
        None,
        "Its date (or timestamp) column: windows and periods are cut by it. Omit it for a "
        "table without a time axis (a batched dataset): the model then trains on a seeded "
        "split by key hash (training.split).",
    )
    label: Identifier = _f(
        text="The label column, in the features or in labels_from: 0/1 or true/false (binary), "
        "a number (regression), one of data.classes (multiclass)."
    )
    classes: list[SegmentValue] | None = _f(
        None,
        "Multiclass only: the label's values, in the order of the served probabilities "
        "(recorded with the model).",
    )
    labels_from: Identifier | None = _f(None, "A table joined on the key that holds the label.")
    label_lag: int = _f(
        0, "Periods (batches) after its own that a period's (batch's) labels land (monitoring).",
        ge=0, le=366,
    )  # fmt: skip
    batch_column: Identifier = _f(
        "_batch",
        "Batched datasets: the feature table's column naming each row's batch (carried from "
        "its raw source's _batch); a batch is scored and monitored by it.",
    )
    dataset: str | None = _f(
        None,
        "The dataset whose calendar (or batches) partitions scoring and monitoring; default: "
        "the one periodic or batched dataset the feature table is built from.",
    )
    categorical: list[Identifier] = _f([], "Categorical inputs (known before the outcome).")
    numeric: list[Identifier] = _f([], "Numeric inputs (known before the outcome).")

    @property
    def inputs(self) -> list[str]:
        """The input columns, categorical first."""
        return [*self.categorical, *self.numeric]

    @pydantic.model_validator(mode="after")
    def _inputs(self) -> Self:
        if not self.inputs:
            raise rule("no input column", "categorical and/or numeric columns")
        for field in ("categorical", "numeric"):
            for i, column in enumerate(getattr(self, field)):
                if column in {self.label, self.key, self.date}:
                    raise rule(f"{column!r} is the key, date or label", "columns known before "
                               "the outcome, other than key and date", at=(field, i))  # fmt: skip
        if len(set(self.inputs)) != len(self.inputs):
            raise rule("a column is listed twice", "each input once")
        return self


class LeakageSpec(dg.Model):
    """The leakage guard: an input that alone predicts the label almost perfectly."""

    max_score: float = _f(
        0.99,
        "An input whose univariate score on the training window reaches this (AUC for binary, "
        "R² for regression, accuracy for multiclass) is named as a leak and fails the gate.",
        gt=0.5,
        le=1.0,
    )
    allow: list[str] = _f([], "Inputs allowed to predict that well (named, so on purpose).")


class EvaluationSpec(dg.Model):
    """The fixed holdout every challenger and champion is judged on, and its reports."""

    holdout_start: str | None = _f(
        None, "First day of the holdout (after the validation days); required with data.date."
    )
    holdout_end: str | None = _f(None, "Last day of the holdout; required with data.date.")
    report_segments: list[str] = _f([], "Inputs whose values get their own metrics.")
    importance_rows: int = _f(4000, "Rows for permutation importance; 0 skips it.", ge=0)
    min_segment_rows: int = _f(200, "Fewest rows a reported segment has.", ge=0)
    min_rows: int = _f(
        30,
        "Fewest labelled rows the validation and holdout windows need to judge a model "
        "(checked before training).",
        ge=1,
    )
    live_periods: int = _f(
        14,
        "The live holdout: the newest labelled periods (batches) the line served, outside the "
        "challenger's training and validation (a split model: its holdout keys). Champion and "
        "challenger are scored on the same rows; with at least min_rows of them the gate "
        "promotes a challenger that beats the champion there by gate.margin and refuses one "
        "worse there by more, and the fixed holdout decides a tie. 0: off.",
        ge=0,
        le=366,
    )
    leakage: LeakageSpec = _f(LeakageSpec(), "The leakage guard on the training window.")


class GateSpec(dg.Model):
    """Floors a challenger must pass, and the margin by which it must beat the champion."""

    metric: str | None = _f(
        None,
        "The holdout metric a challenger must beat the champion on; default: the task's "
        "primary (binary auc, regression rmse, multiclass log_loss).",
    )
    floors: dict[str, float] | None = _f(
        None,
        "Holdout metric -> bound: a floor for a metric where higher is better (auc, r2, "
        "accuracy, macro_f1), a ceiling where lower is (brier, log_loss, rmse, mae). Default: "
        "binary {auc: 0.6, brier: 0.25}, regression {r2: 0.0}, multiclass none.",
    )
    margin: float = _f(
        0.002, "By how much of gate.metric a challenger must beat the champion.", ge=0.0
    )
    beat_baseline: bool = _f(
        True,
        "Refuse a challenger whose holdout gate.metric is worse than the gradient-boosted "
        "baseline's (default recipe, fitted on every training) on the same holdout; ties pass.",
    )


class SegmentSpec(dg.Model):
    """One model per value of ``column``; under ``min_rows`` training rows, ``fallback`` serves."""

    column: Identifier = _f(text="The input whose values get their own model.")
    values: list[SegmentValue] = _f(
        text="The values (one registered model <name>-<value> each).", min_length=1
    )
    min_rows: int = _f(1000, "Fewest training rows a segment's own model needs.", ge=1)
    fallback: Identifier = _f(text="The model whose champion serves a segment under min_rows.")

    @pydantic.field_validator("values")
    @classmethod
    def _distinct(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise rule("a value is repeated", "distinct values")
        return value


class ScheduleSpec(dg.Model):
    """When the model's scoring and monitoring run on the newest landed period."""

    cron: str = _f(text="Cron expression.")
    timezone: str = _f("America/New_York", "The cron's time zone.")

    @pydantic.field_validator("cron")
    @classmethod
    def _cron(cls, value: str) -> str:
        from factory_assets.private_api import is_valid_cron_string

        if not is_valid_cron_string(value):
            raise rule(f"{value!r} is not a cron string", "five fields, e.g. '0 6 * * *'")
        return value
