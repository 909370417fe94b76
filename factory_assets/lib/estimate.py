"""Performance before labels: what a period's metrics should be if its probabilities are calibrated.

Confidence-based performance estimation, as NannyML's CBPE (nannyml itself pins lightgbm < 4.6
against our 4.7, so the method is implemented here). A calibrated probability p says the row
is positive with chance p; each metric's expectation over labels drawn that way is closed form:
Brier ``mean p(1 - p)``, log loss the mean entropy, accuracy the mean of the largest
probability, AUC the expected concordant pairs over the expected positive-negative pairs
(``sum_{i != j} p_i (1 - p_j) [s_i > s_j]`` over ``sum_{i != j} p_i (1 - p_j)``, ties half),
macro-F1 from the expected confusion matrix. A ratio of expectations, as CBPE's, so close to
but not exactly the expected ratio; the tests compare it with simulated labels.
"""

import numpy as np

from factory_assets.lib.tasks import EPS

ESTIMATED = {  # the metrics each task's estimate covers
    "binary": ("auc", "brier", "log_loss"),
    "multiclass": ("log_loss", "accuracy", "macro_f1"),
}


def expected_auc(p: np.ndarray) -> float:
    """AUC expected when each row is positive with probability ``p`` (its own score)."""
    p = np.asarray(p, dtype=float).ravel()
    if p.size < 2:
        return float("nan")
    values, inverse = np.unique(p, return_inverse=True)
    pos = np.bincount(inverse, weights=p)  # expected positives per distinct score
    neg = np.bincount(inverse, weights=1 - p)
    below = np.concatenate([[0.0], np.cumsum(neg)[:-1]])  # expected negatives scored lower
    # pairs within one score tie (half); a row is never paired with itself
    tied = pos * neg - np.bincount(inverse, weights=p * (1 - p))
    concordant = float(np.sum(pos * below) + 0.5 * np.sum(tied))
    pairs = float(pos.sum() * neg.sum() - np.sum(p * (1 - p)))
    return concordant / pairs if pairs > 0 else float("nan")


def estimate_binary(p: np.ndarray) -> dict[str, float]:
    """Expected AUC, Brier and log loss of calibrated probabilities ``p``."""
    p = np.clip(np.asarray(p, dtype=float).ravel(), EPS, 1 - EPS)
    return {
        "auc": expected_auc(p),
        "brier": float(np.mean(p * (1 - p))),
        "log_loss": float(np.mean(-(p * np.log(p) + (1 - p) * np.log(1 - p)))),
    }


def estimate_multiclass(probs: np.ndarray) -> dict[str, float]:
    """Expected log loss, accuracy and macro-F1 of calibrated class probabilities [n, k]."""
    probs = np.clip(np.asarray(probs, dtype=float), EPS, 1.0)
    probs = probs / probs.sum(axis=1, keepdims=True)
    k = probs.shape[1]
    predicted = probs.argmax(axis=1)
    picked = np.zeros_like(probs)
    picked[np.arange(predicted.size), predicted] = 1.0
    tp = (probs * picked).sum(axis=0)  # expected hits per predicted class
    fp = picked.sum(axis=0) - tp
    fn = probs.sum(axis=0) - tp
    denominator = 2 * tp + fp + fn
    f1 = np.divide(2 * tp, denominator, out=np.zeros(k), where=denominator > 0)
    return {
        "log_loss": float(np.mean(-np.sum(probs * np.log(probs), axis=1))),
        "accuracy": float(np.mean(probs.max(axis=1))),
        "macro_f1": float(f1[denominator > 0].mean()) if (denominator > 0).any() else np.nan,
    }


def estimate(kind: str, pred: np.ndarray) -> dict[str, float]:
    """``estimated_<metric>`` of a period's served predictions ({} for regression or no rows)."""
    if kind not in ESTIMATED or len(pred) == 0:
        return {}
    values = estimate_binary(pred) if kind == "binary" else estimate_multiclass(pred)
    return {f"estimated_{m}": v for m, v in values.items()}
