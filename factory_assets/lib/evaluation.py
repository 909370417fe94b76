"""Evaluation of a binary classifier: metrics, calibration, segments, importance.

Pure numpy/Polars functions over labels ``y_true`` (0/1 or bool) and probabilities ``p``.
AUC is NaN in ``binary_metrics`` and null in tables when only one class is present.
"""

from collections.abc import Callable
from typing import Any

import numpy as np
import polars as pl

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


def segment_metrics(
    frame: pl.DataFrame, by: str, y_col: str = "y", p_col: str = "p", min_rows: int = 200
) -> pl.DataFrame:
    """``binary_metrics`` per value of column ``by`` (as a string; null as ``"null"``).

    A segment ``is_reliable`` with at least ``min_rows`` rows and both classes. Columns are
    ``SEGMENT_SCHEMA``; rows are sorted by ``auc`` ascending, null AUC (one class) last.
    """
    rows = []
    keyed = frame.select(
        pl.col(by).cast(pl.String).fill_null("null").alias("_segment"), y_col, p_col
    )
    for (segment,), part in keyed.partition_by("_segment", as_dict=True).items():
        y = part[y_col].cast(pl.Float64).to_numpy()
        metrics = binary_metrics(y, part[p_col].cast(pl.Float64).to_numpy())
        positives = int(y.sum())
        n = int(metrics.pop("n"))
        auc = None if np.isnan(metrics["auc"]) else metrics["auc"]  # null: JSON-safe metadata
        reliable = n >= min_rows and 0 < positives < n
        rows.append(
            {
                **metrics,
                "segment": segment,
                "n": n,
                "positives": positives,
                "auc": auc,
                "is_reliable": reliable,
            }
        )
    return pl.DataFrame(rows, schema=SEGMENT_SCHEMA).sort(["auc", "segment"], nulls_last=True)


def worst_segment(table: pl.DataFrame) -> dict[str, Any] | None:
    """The reliable row of a ``segment_metrics`` table with the lowest AUC, or None if none is."""
    reliable = table.filter(pl.col("is_reliable") & pl.col("auc").is_not_null())
    if reliable.is_empty():
        return None
    return reliable.sort(["auc", "segment"]).row(0, named=True)


def permutation_importance(
    predict: Callable[[pl.DataFrame], np.ndarray],
    frame: pl.DataFrame,
    y_true: np.ndarray,
    columns: list[str],
    repeats: int = 3,
    seed: int = 0,
) -> pl.DataFrame:
    """Mean drop in AUC when one column at a time is shuffled across rows.

    Calls ``predict`` ``1 + len(columns) * repeats`` times, so pass a sample of a large frame.
    One Generator seeded with ``seed`` draws every permutation, column by column. Raises
    ValueError if ``y_true`` has a single class or a column is not in ``frame``.

    Returns:
        Columns ``feature``, ``importance``, ``importance_std`` (over repeats),
        ``baseline_auc``, sorted by importance descending.

    """
    missing = [c for c in columns if c not in frame.columns]
    if missing or repeats < 1:
        raise ValueError(f"columns not in frame: {missing}" if missing else "repeats must be >= 1")
    y = np.asarray(y_true, dtype=float).ravel()
    baseline = _auc(y, np.asarray(predict(frame), dtype=float).ravel())
    if np.isnan(baseline):
        raise ValueError("permutation importance needs both classes in y_true")
    rng = np.random.default_rng(seed)
    rows = []
    for column in columns:
        drops = []
        for _ in range(repeats):
            shuffled = frame.with_columns(frame[column].gather(rng.permutation(frame.height)))
            drops.append(baseline - _auc(y, np.asarray(predict(shuffled), dtype=float).ravel()))
        rows.append((column, float(np.mean(drops)), float(np.std(drops)), baseline))
    schema = {
        "feature": pl.String,
        "importance": pl.Float64,
        "importance_std": pl.Float64,
        "baseline_auc": pl.Float64,
    }
    return pl.DataFrame(rows, schema=schema, orient="row").sort(
        ["importance", "feature"], descending=[True, False]
    )
