"""The fields of a model spec, below its top level: each a constraint, each rule a validator.

``ModelSpec`` (model_spec.py) holds these; rules that need the warehouse or the sources are in
model_spec_checks.py. Errors read ``<file:line>: <field>: <problem>; allowed: ...``
(lib/specs/errors.py).
"""

import datetime as dt
from typing import Literal, Self

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
from factory_assets.lib.specs.errors import listing, pattern, rule

SEARCHABLE = {"lr", "dropout", "hidden", "max_epochs", "batch_size", "weight_decay"}
MAX_SPLIT = 50  # percent of keys validation and holdout take together at most
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


class SplitSpec(dg.Model):
    """A model without data.date: percent of keys (by a seeded hash) that validate and hold out."""

    val: int = _f(15, "Percent of keys that validate (early stopping, search).", ge=1)
    holdout: int = _f(15, "Percent of keys held out (evaluation and the gate); the rest trains.",
                      ge=1)  # fmt: skip

    @pydantic.model_validator(mode="after")
    def _leaves_most_to_train(self) -> Self:
        if self.val + self.holdout > MAX_SPLIT:
            raise rule(f"val {self.val} % and holdout {self.holdout} % are impossible",
                       f"each >= 1, together <= {MAX_SPLIT}")  # fmt: skip
        return self


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
    val_days: int = _f(14, "Days after train_end that validate (early stopping, search).", ge=1)
    architecture: Literal["mlp"] = _f("mlp", "The net: embeddings for categories + an MLP.")
    hidden: list[pydantic.conint(ge=1)] = _f([64, 32], "Widths of the hidden layers.", min_length=1)
    dropout: float = _f(0.1, "Dropout between hidden layers.", ge=0.0, le=0.95)
    max_epochs: int = _f(30, "Epochs at most (early stopping ends sooner).", ge=1)
    patience: int = _f(4, "Epochs without a better validation metric before stopping (the "
                       "best epoch's weights are kept); 0: run max_epochs.", ge=0)  # fmt: skip
    monitor: Literal["score", "loss"] = _f("score", "Early stopping watches the task's primary "
                                           "validation metric, or the loss.")  # fmt: skip
    batch_size: int = _f(1024, "Rows per batch.", ge=1)
    lr: float = _f(2e-3, "AdamW peak learning rate.", gt=0.0)
    lr_schedule: Literal["cosine", "constant"] = _f("cosine", "One epoch of warm-up, then a "
                                                    "cosine decay to 2 % of lr.")  # fmt: skip
    weight_decay: float = _f(1e-4, "AdamW weight decay.", ge=0.0)
    scaling: Literal["robust", "standard"] = _f("robust", "Numerics: median/IQR, clipped to "
                                                "0.1-99.9 % (robust), or mean/std.")  # fmt: skip
    embedding_cap: int = _f(16, "Widest embedding (1.6 * size^0.56 per category).", ge=1)
    seed: int = _f(13, "Seed of the split, the weights and the batch order.")


class SearchSpec(dg.Model):
    """Optuna search: ``trials`` trials over ``space``, maximising validation AUROC."""

    trials: int = _f(text="Trials to run.", ge=1, le=500)
    space: dict[str, dict] = _f(text="Parameter -> {low, high} or {choices}.")

    @pydantic.field_validator("space")
    @classmethod
    def _space(cls, value: dict) -> dict:
        from factory_assets.lib.training.search import SearchSpace

        try:
            SearchSpace.parse(value, allowed=SEARCHABLE)
        except ValueError as err:
            allowed = (
                f"low < high (and log, int) or choices, for any of {listing(sorted(SEARCHABLE))}"
            )
            raise rule(str(err), None if "allowed:" in str(err) else allowed) from None
        return value


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
