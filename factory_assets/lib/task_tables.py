"""The holdout's tables of each task: calibration, residuals by decile, the confusion matrix.

Pure numpy/Polars over encoded targets ``y`` (``Task.encode``) and predictions ``pred``
(lib/tasks.py shapes). ``holdout_tables`` picks the task's tables; the others build one each.
"""

import numpy as np
import polars as pl

from factory_assets.lib.tasks import Task, confusion


def residual_deciles(y: np.ndarray, pred: np.ndarray, bins: int = 10) -> pl.DataFrame:
    """Residuals (prediction - label) by decile of the prediction, lowest predictions first.

    Deciles are equal-count groups of the rows sorted by prediction (ties split by row order),
    so each holds ``n // bins`` or one more row; empty ones (fewer rows than bins) are left out.

    Returns:
        Columns ``decile`` (0..bins-1), ``n``, ``mean_prediction``, ``mean_label``,
        ``mean_residual``, ``rmse``.
    """
    y, p = np.asarray(y, dtype=float).ravel(), np.asarray(pred, dtype=float).ravel()
    if y.shape != p.shape or bins < 1:
        raise ValueError("bins must be >= 1 and y, pred of equal length")
    order = np.argsort(p, kind="stable")
    decile = np.empty(p.size, dtype=np.int64)
    decile[order] = np.arange(p.size) * bins // max(p.size, 1)
    residual = p - y
    return (
        pl.DataFrame({"decile": decile, "p": p, "y": y, "r": residual})
        .group_by("decile")
        .agg(
            n=pl.len().cast(pl.Int64),
            mean_prediction=pl.mean("p"),
            mean_label=pl.mean("y"),
            mean_residual=pl.mean("r"),
            rmse=(pl.col("r") ** 2).mean().sqrt(),
        )
        .sort("decile")
    )


def confusion_table(y: np.ndarray, probs: np.ndarray, classes: tuple[str, ...]) -> pl.DataFrame:
    """The confusion matrix: one row per true class, one count column per predicted class.

    The columns are ``true`` and ``predicted <class>`` for each class in ``classes`` order,
    then ``n`` (rows of that true class) and ``recall`` (the diagonal's share, null when n=0).
    """
    k = len(classes)
    y = np.asarray(y, dtype=np.int64).ravel()
    probs = np.asarray(probs, dtype=float).reshape(-1, k)
    matrix = confusion(y, probs.argmax(axis=1), k)
    n = matrix.sum(axis=1)
    recall = [float(matrix[i, i] / n[i]) if n[i] else None for i in range(k)]
    return pl.DataFrame(
        {
            "true": list(classes),
            **{f"predicted {c}": matrix[:, j].astype(np.int64) for j, c in enumerate(classes)},
            "n": n.astype(np.int64),
            "recall": pl.Series(recall, dtype=pl.Float64),
        }
    )


def holdout_tables(task: Task, y: np.ndarray, pred: np.ndarray) -> dict[str, pl.DataFrame]:
    """The task's holdout tables by name: calibration, residuals or confusion."""
    if task.kind == "binary":
        from factory_assets.lib.evaluation import calibration_table

        return {"calibration": calibration_table(y, pred)}
    if task.kind == "regression":
        return {"residuals": residual_deciles(y, pred)}
    return {"confusion": confusion_table(y, pred, task.classes)}
