"""Scoring with packaged models: preprocessor JSON + ONNX through onnxruntime, no training code.

A line's rows are scored by the champion of their segment (``champions``, ``score``).
"""

import datetime as dt
from pathlib import Path

import numpy as np
import polars as pl

from factory_assets.lib.model_line import ModelLine
from factory_assets.lib.registry import CHAMPION
from factory_assets.lib.tasks import Task
from factory_assets.lib.training.dataset import Preprocessor

MODEL_FILE, PREPROCESSOR_FILE, CARD_FILE = "model.onnx", "preprocessor.json", "model_card.md"


class PackagedModel:
    """A model package directory opened for scoring."""

    def __init__(self, directory: Path) -> None:
        from factory_assets.lib.packaging import open_session

        self.preprocessor = Preprocessor.from_json((directory / PREPROCESSOR_FILE).read_text())
        self.session = open_session(directory / MODEL_FILE)

    @property
    def task(self) -> Task:
        """What the model predicts, as its preprocessor recorded it."""
        return self.preprocessor.model_task

    def predict(self, features: pl.DataFrame) -> np.ndarray:
        """Predictions for the rows of the model's feature table, shaped by the task.

        Binary: the probability that the label is true ([n]); regression: the value ([n]);
        multiclass: one probability per class ([n, classes], in ``task.classes`` order).
        """
        from factory_assets.lib.packaging import onnx_predict

        if features.height == 0:
            k = self.task.outputs
            return np.empty((0, k) if self.task.kind == "multiclass" else 0, dtype=np.float32)
        cat, num = self.preprocessor.transform(features)
        return onnx_predict(self.session, cat, num)


def load_alias(registry, name: str, alias: str):  # noqa: ANN001, ANN201
    """The model version behind ``alias`` and its package opened for scoring, or None."""
    version = registry.version(name, alias)
    if version is None:
        return None
    return version, PackagedModel(registry.download(version))


def champions(tracking, line: ModelLine, segments: list) -> dict | None:  # noqa: ANN001
    """Segment -> (registered name, version, packaged model, is_fallback); None: no champion.

    ``tracking`` is a TrackingStore; a segment without a champion of its own is scored by the
    line's fallback model.
    """
    registry, loaded, out = tracking.registry(), {}, {}

    def load(name: str) -> tuple | None:
        if name not in loaded:
            loaded[name] = load_alias(registry, name, CHAMPION)
        return loaded[name]

    for segment in segments:
        name = line.registry_name(segment)
        found, fallback = load(name), False
        if found is None and line.segments:
            name, found, fallback = line.segments.fallback, load(line.segments.fallback), True
        if found is None:
            return None
        out[segment] = (name, str(found[0].version), found[1], fallback)
    return out


def score(features: pl.DataFrame, line: ModelLine, models: dict) -> pl.DataFrame:
    """Every row with its prediction and the model (and version) that made it.

    The prediction columns are the task's (``Task.prediction_columns``): ``probability``
    (binary), ``prediction`` (regression), or ``prediction``, ``probability``,
    ``probabilities`` (multiclass).
    """
    c, parts = line.columns, []
    # a row's partition: its date, or its batch (a batched dataset's predictions carry _batch)
    stamp = pl.col(line.batch_column).alias("_batch") if line.batches else pl.col(c.date)
    groups = (
        features.partition_by(line.segments.column, as_dict=True)
        if line.segments
        else {(None,): features}
    )
    for (segment,), rows in groups.items():
        name, version, model, fallback = models.get(segment) or models[None]
        if model.task != line.task:  # the table's columns are the line's task's
            raise ValueError(
                f"{name} v{version} predicts {model.task.kind} {list(model.task.classes)} but "
                f"{line.name} is {line.task.kind} {list(line.task.classes)}: package a model "
                "of the spec's task before scoring"
            )
        parts.append(
            rows.select(
                c.key,
                stamp,
                *line.task.prediction_columns(model.predict(rows)).values(),
                pl.lit(name).alias("model_name"),
                pl.lit(version).alias("model_version"),
                pl.lit(fallback).alias("fallback"),
            )
        )
    scored = pl.concat(parts) if parts else pl.DataFrame()
    scored_at = pl.lit(dt.datetime.now(dt.UTC).replace(tzinfo=None)).alias("scored_at")
    if line.batches:
        return scored.with_columns(scored_at)
    return scored.with_columns(
        scored_at,
        partition_stamp(line),
    )


def partition_stamp(line: ModelLine) -> pl.Expr:
    """A dated row's ``_partition_date``: its day, or its hour (what partition_values lists)."""
    date = pl.col(line.columns.date)
    return (date.dt.truncate("1h") if line.hourly else date.cast(pl.Date)).alias("_partition_date")


def partition_values(line: ModelLine, keys: list[str]) -> list:
    """The partition column's values of a run: every day (or hour) its periods span, or batches."""
    if line.batches:
        return list(keys)
    run = [line.calendar.period(key) for key in keys]
    if line.hourly:
        return [p.start for p in run]
    days = []
    for period in run:
        day = period.first_day
        while day <= period.last_day:
            days.append(day)
            day += dt.timedelta(days=1)
    return days
