"""Evaluation of a model: binary metrics and calibration; segments and importance per task.

Pure numpy/Polars functions over labels ``y_true`` (binary: 0/1 or bool; other tasks: the
targets ``Task.encode`` gives) and predictions (lib/tasks.py: [n] or [n, k]). AUC is NaN in
``binary_metrics`` and null in tables when only one class is present.
"""

from collections.abc import Callable
from typing import Any

import numpy as np
import polars as pl

from factory_assets.lib.tasks import HIGHER_IS_BETTER, Task

BINARY = Task()
EPS = 1e-7  # log-loss clipping: one p of exactly 0 or 1 would otherwise make the loss infinite


def _auc(y: np.ndarray, p: np.ndarray) -> float:
    """ROC AUC as the Mann-Whitney statistic: mean ranks, ties halved (sklearn's value).

    sklearn's roc_auc_score validates and builds the whole curve: about 2 ms a call on 200
    rows, and permutation importance calls it ``1 + columns * repeats`` times per model.
    """
    y, p = np.asarray(y).ravel(), np.asarray(p, dtype=float).ravel()
    classes = np.unique(y)
    if classes.size != 2:
        return float("nan")
    if np.isnan(p).any():
        raise ValueError("AUC of NaN predictions")
    positive = y == classes[1]
    _, index, counts = np.unique(p, return_inverse=True, return_counts=True)
    ranks = (np.cumsum(counts) - (counts - 1) / 2)[index.ravel()]  # 1-based; ties share the mean
    n_pos = int(positive.sum())
    n_neg = y.size - n_pos
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def binary_metrics(y_true: np.ndarray, p: np.ndarray) -> dict[str, float]:
    """AUC, log loss, Brier score, count, positive rate and mean prediction.

    Args:
        y_true: labels, 0/1 or bool.
        p: predicted probabilities of the positive class, same length.

    Returns:
        Keys ``auc`` (NaN with a single class), ``log_loss``, ``brier``, ``n``,
        ``positive_rate``, ``mean_prediction``; all NaN but ``n`` for empty input.

    """
    y = np.asarray(y_true, dtype=float).ravel()
    p = np.asarray(p, dtype=float).ravel()
    if y.shape != p.shape:
        raise ValueError(f"y_true has {y.size} values but p has {p.size}")
    if y.size == 0:
        nan = float("nan")
        return dict(auc=nan, log_loss=nan, brier=nan, n=0.0, positive_rate=nan, mean_prediction=nan)
    clipped = np.clip(p, EPS, 1 - EPS)
    return {
        "auc": _auc(y, p),
        "log_loss": float(-np.mean(y * np.log(clipped) + (1 - y) * np.log(1 - clipped))),
        "brier": float(np.mean((p - y) ** 2)),
        "n": float(y.size),
        "positive_rate": float(y.mean()),
        "mean_prediction": float(p.mean()),
    }


def calibration_table(y_true: np.ndarray, p: np.ndarray, bins: int = 10) -> pl.DataFrame:
    """Reliability table: equal-width probability bins over [0, 1], empty bins omitted.

    A bin holds ``p_low <= p < p_high``; the last one also holds ``p == 1``.

    Returns:
        Columns ``bin`` (0..bins-1), ``p_low``, ``p_high``, ``n``, ``mean_prediction``,
        ``observed_rate``, one row per non-empty bin in bin order.

    Raises:
        ValueError: if a probability is NaN or outside [0, 1], or bins < 1.

    """
    y = np.asarray(y_true, dtype=float).ravel()
    p = np.asarray(p, dtype=float).ravel()
    if bins < 1 or y.shape != p.shape:
        raise ValueError("bins must be >= 1 and y_true, p of equal length")
    if not np.all((p >= 0) & (p <= 1)):  # also false for NaN
        raise ValueError("calibration needs probabilities in [0, 1]")
    edges = np.linspace(0.0, 1.0, bins + 1)
    # Binning against the same edges that are reported keeps each mean inside [p_low, p_high].
    index = np.clip(np.searchsorted(edges, p, side="right") - 1, 0, bins - 1)
    table = (
        pl.DataFrame({"bin": index.astype(np.int64), "p": p, "y": y})
        .group_by("bin")
        .agg(n=pl.len().cast(pl.Int64), mean_prediction=pl.mean("p"), observed_rate=pl.mean("y"))
        .sort("bin")
    )
    present = table["bin"].to_numpy()
    return table.with_columns(
        p_low=pl.Series(edges[present], dtype=pl.Float64),
        p_high=pl.Series(edges[present + 1], dtype=pl.Float64),
    ).select("bin", "p_low", "p_high", "n", "mean_prediction", "observed_rate")


SEGMENT_SCHEMA = {
    "segment": pl.String,
    "n": pl.Int64,
    "positives": pl.Int64,
    "auc": pl.Float64,
    "log_loss": pl.Float64,
    "brier": pl.Float64,
    "positive_rate": pl.Float64,
    "mean_prediction": pl.Float64,
    "is_reliable": pl.Boolean,
}
# the other tasks' segment tables: their metrics (lib/tasks.py), the label's mean for regression
TASK_SEGMENT_COLUMNS = {
    "regression": ("rmse", "mae", "r2", "mean_label", "mean_prediction"),
    "multiclass": ("log_loss", "accuracy", "macro_f1"),
}


def _segment_schema(task: Task) -> dict:
    if task.kind == "binary":
        return SEGMENT_SCHEMA
    columns = TASK_SEGMENT_COLUMNS[task.kind]
    return {
        "segment": pl.String,
        "n": pl.Int64,
        **dict.fromkeys(columns, pl.Float64),
        "is_reliable": pl.Boolean,
    }


def _null_nan(value: float) -> float | None:
    """NaN as None: JSON-safe metadata, and null sorts last in a table."""
    return None if np.isnan(value) else float(value)


def segment_metrics(  # noqa: PLR0913
    frame: pl.DataFrame,
    by: str,
    y_col: str = "y",
    p_col: str = "p",
    min_rows: int = 200,
    task: Task = BINARY,
) -> pl.DataFrame:
    """The task's metrics per value of column ``by`` (as a string; null as ``"null"``).

    ``y_col`` holds encoded targets (``Task.encode``), ``p_col`` the predictions (multiclass:
    an Array column of class probabilities). A segment ``is_reliable`` with at least
    ``min_rows`` rows that the task can judge (``Task.why_cannot_judge``: both classes, ...).
    Columns are ``SEGMENT_SCHEMA`` for binary, else segment, n, the task's metrics,
    is_reliable; rows are sorted worst first by the task's primary metric, null (a segment the
    metric cannot judge) last.
    """
    schema = _segment_schema(task)
    keys = frame[by].cast(pl.String).fill_null("null")
    y_all, p_all = frame[y_col].to_numpy(), frame[p_col].to_numpy()
    rows = []
    for (segment,), part in (
        pl.DataFrame({"_segment": keys}).with_row_index().group_by("_segment", maintain_order=True)
    ):
        index = part["index"].to_numpy()
        y, pred = y_all[index], p_all[index]
        metrics = task.metrics(y, pred)
        row = {k: _null_nan(v) for k, v in metrics.items() if k in schema}
        reliable = index.size >= min_rows and task.why_cannot_judge(y) is None
        if task.kind == "binary":
            row["positives"] = int(np.asarray(y, dtype=float).sum())
        rows.append({**row, "segment": segment, "n": int(index.size), "is_reliable": reliable})
    primary = task.primary
    return pl.DataFrame(rows, schema=schema).sort(
        [primary, "segment"], descending=[not HIGHER_IS_BETTER[primary], False], nulls_last=True
    )


def worst_segment(table: pl.DataFrame, metric: str = "auc") -> dict[str, Any] | None:
    """The reliable row of a ``segment_metrics`` table worst on ``metric`` (None if none is).

    Worst is the lowest where higher is better (AUC, R², accuracy), else the highest (RMSE,
    log loss).
    """
    reliable = table.filter(pl.col("is_reliable") & pl.col(metric).is_not_null())
    if reliable.is_empty():
        return None
    higher = HIGHER_IS_BETTER[metric]
    return reliable.sort([metric, "segment"], descending=[not higher, False]).row(0, named=True)


def permutation_importance(  # noqa: PLR0913
    predict: Callable[[pl.DataFrame], np.ndarray],
    frame: pl.DataFrame,
    y_true: np.ndarray,
    columns: list[str],
    repeats: int = 3,
    seed: int = 0,
    task: Task = BINARY,
) -> pl.DataFrame:
    """Mean drop in the task's primary metric when one column at a time is shuffled across rows.

    The drop is measured the way the metric improves: a rise in RMSE or log loss is a drop.
    Calls ``predict`` ``1 + len(columns) * repeats`` times, so pass a sample of a large frame.
    One Generator seeded with ``seed`` draws every permutation, column by column. Raises
    ValueError if ``y_true`` cannot judge a model (``Task.why_cannot_judge``: one class, no
    rows, ...) or a column is not in ``frame``.

    Returns:
        Columns ``feature``, ``importance``, ``importance_std`` (over repeats),
        ``baseline_<primary metric>`` (``baseline_auc``, ...), sorted by importance descending.

    """
    missing = [c for c in columns if c not in frame.columns]
    if missing or repeats < 1:
        raise ValueError(f"columns not in frame: {missing}" if missing else "repeats must be >= 1")
    reason = task.why_cannot_judge(y_true)
    if reason:
        raise ValueError(f"permutation importance needs targets that can judge a model: {reason}")
    baseline = task.score(y_true, predict(frame))
    if np.isnan(baseline):
        raise ValueError(f"permutation importance: the baseline {task.primary} is NaN")
    rng = np.random.default_rng(seed)
    rows = []
    for column in columns:
        drops = []
        for _ in range(repeats):
            shuffled = frame.with_columns(frame[column].gather(rng.permutation(frame.height)))
            drops.append(baseline - task.score(y_true, predict(shuffled)))
        rows.append((column, float(np.mean(drops)), float(np.std(drops)), baseline))
    shown = baseline if HIGHER_IS_BETTER[task.primary] else -baseline
    schema = {
        "feature": pl.String,
        "importance": pl.Float64,
        "importance_std": pl.Float64,
        f"baseline_{task.primary}": pl.Float64,
    }
    rows = [(*row[:3], shown) for row in rows]
    return pl.DataFrame(rows, schema=schema, orient="row").sort(
        ["importance", "feature"], descending=[True, False]
    )
