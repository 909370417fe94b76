"""How sure a period's metric is, and an anytime-valid test over the stream of periods.

Intervals: AUC by DeLong's variance (the fast O(n log n) form of Sun & Xu, 2014), any other
metric by a seeded percentile bootstrap of the rows. The sequential test is a one-sided
normal-mixture e-process (Robbins' mixture SPRT) on the standardised shortfall of each period's
metric below its floor: under "the model meets the floor every period" each shortfall
``z = (floor - metric) / se`` is about N(mu, 1) with mu <= 0, so ``exp(l S - l^2 n / 2)`` is a
supermartingale for every l >= 0 and so is its mixture over l ~ half-N(0, 1/rho). By Ville's
inequality the chance it ever reaches 1/alpha, however often one looks, is at most alpha.
"""

import math
from statistics import NormalDist

import numpy as np

from factory_assets.lib.tasks import EPS, HIGHER_IS_BETTER, Task

# The interval is 98 % two-sided: a model exactly at its bound has it entirely past the bound
# in 1 % of periods (one tail), which leaves room under the 2 % per period goal for the
# sequential test; a 95 % interval's 2.5 % tail alone exceeded it (alarm_calibration: 2.1 %).
LEVEL = 0.98
Z = NormalDist().inv_cdf((1 + LEVEL) / 2)  # LEVEL's two-sided normal quantile, 2.326
DRAWS = 200  # bootstrap resamples
RHO = 1.0  # the mixture's precision: tuned for a shortfall of about one standard error a period


def _midranks(x: np.ndarray) -> np.ndarray:
    from scipy.stats import rankdata

    return rankdata(x, method="average")


def _placements(y: np.ndarray, p: np.ndarray) -> tuple[float, np.ndarray, np.ndarray] | None:
    """(AUC, per-positive and per-negative placement values) of ``p``; None under 2 a class."""
    pos, neg = p[y == 1], p[y == 0]
    m, n = pos.size, neg.size
    if m < 2 or n < 2:
        return None
    tz = _midranks(np.concatenate([pos, neg]))
    tx, ty = _midranks(pos), _midranks(neg)
    auc = (tz[:m].sum() - m * (m + 1) / 2) / (m * n)
    v10 = (tz[:m] - tx) / n  # per positive: the share of negatives it outranks
    v01 = 1.0 - (tz[m:] - ty) / m  # per negative: the share of positives outranking it
    return float(auc), v10, v01


def delong(y: np.ndarray, p: np.ndarray) -> tuple[float, float]:
    """(AUC, its DeLong standard error) of scores ``p`` against 0/1 labels ``y``.

    NaN for both when a class has fewer than two rows (no variance to estimate).
    """
    y = np.asarray(y, dtype=float).ravel()
    placed = _placements(y, np.asarray(p, dtype=float).ravel())
    if placed is None:
        return float("nan"), float("nan")
    auc, v10, v01 = placed
    return auc, math.sqrt(np.var(v10, ddof=1) / v10.size + np.var(v01, ddof=1) / v01.size)


def row_losses(metric: str, y: np.ndarray, pred: np.ndarray, task: Task) -> np.ndarray | None:
    """Per-row terms whose mean is ``metric`` (RMSE: of its square), or None if it is no mean."""
    if metric == "brier" and task.kind == "binary":
        return (pred - y) ** 2
    if metric == "log_loss" and task.kind == "binary":
        p = np.clip(pred, EPS, 1 - EPS)
        return -(y * np.log(p) + (1 - y) * np.log(1 - p))
    if metric == "log_loss":
        return -np.log(np.clip(pred[np.arange(y.size), y.astype(int)], EPS, 1.0))
    if metric == "accuracy":
        return (pred.argmax(axis=1) == y).astype(float)
    if metric in ("rmse", "mae"):
        error = pred.ravel() - y
        return error**2 if metric == "rmse" else np.abs(error)
    return None


def bootstrap(
    metric: str, y: np.ndarray, pred: np.ndarray, task: Task, seed: int = 0
) -> tuple[float, float, float]:
    """(low, high, standard error) of ``metric`` from ``DRAWS`` seeded resamples of the rows."""
    rng = np.random.default_rng(seed)
    losses = row_losses(metric, y, pred, task)
    values = np.empty(DRAWS)
    for b in range(DRAWS):
        rows = rng.integers(0, y.size, y.size)
        if losses is not None:
            values[b] = losses[rows].mean()
        else:
            values[b] = task.metrics(y[rows], pred[rows]).get(metric, np.nan)
    if metric == "rmse":
        values = np.sqrt(values)
    values = values[np.isfinite(values)]
    if values.size < DRAWS // 2:
        return float("nan"), float("nan"), float("nan")
    low, high = np.quantile(values, [(1 - LEVEL) / 2, (1 + LEVEL) / 2])
    return float(low), float(high), float(np.std(values, ddof=1))


def interval(metric: str, value: float, y: np.ndarray, pred: np.ndarray, task: Task) -> dict:
    """``{metric}_low``, ``{metric}_high`` (98 %) and ``{metric}_se`` of one period's ``metric``."""
    if not np.isfinite(value) or y.size < 2:
        low = high = se = float("nan")
    elif metric == "auc":
        _, se = delong(y, pred)
        low, high = max(0.0, value - Z * se), min(1.0, value + Z * se)
    else:
        low, high, se = bootstrap(metric, y, pred, task)
    return {f"{metric}_low": low, f"{metric}_high": high, f"{metric}_se": se}


def bounds(value: float, se: float) -> tuple[float, float]:
    """``value`` ± ``Z`` standard errors: the LEVEL interval of a normal estimate, unclipped."""
    return value - Z * se, value + Z * se


def interval_fails(metric: str, low: float, high: float, bound: float) -> bool:
    """Whether the interval lies entirely on the wrong side of the bound (floor or ceiling)."""
    return high < bound if HIGHER_IS_BETTER[metric] else low > bound


def shortfall(metric: str, value: float, se: float, bound: float) -> float:
    """How many standard errors ``value`` falls short of ``bound`` (negative: it clears it)."""
    gap = bound - value if HIGHER_IS_BETTER[metric] else value - bound
    return gap / max(se, 1e-9)


def e_process(shortfalls: np.ndarray, rho: float = RHO) -> np.ndarray:
    """The one-sided normal-mixture e-value after each period of a stream of shortfalls.

    ``2 sqrt(rho / v) exp(S^2 / 2v) Phi(S / sqrt v)`` with ``S`` the running sum and
    ``v = n + rho``. Reject "meets the floor" once it reaches 1/alpha.
    """
    from scipy.stats import norm

    z = np.asarray(shortfalls, dtype=float)
    total, v = np.cumsum(z, axis=-1), np.arange(1, z.shape[-1] + 1) + rho
    log_e = math.log(2) + 0.5 * np.log(rho / v) + total**2 / (2 * v)
    return np.exp(np.minimum(log_e + norm.logcdf(total / np.sqrt(v)), 700.0))


def e_value(shortfalls: list[float] | np.ndarray, rho: float = RHO) -> float:
    """The e-value of the whole stream (``e_process``'s last); 1 for an empty one.

    Periods without a shortfall (no standard error) are left out.
    """
    z = np.asarray([s for s in shortfalls if np.isfinite(s)], dtype=float)
    return float(e_process(z, rho)[-1]) if z.size else 1.0


def paired_gain(
    metric: str, y: np.ndarray, pred: np.ndarray, other: np.ndarray, task: Task
) -> tuple[float, float]:
    """(gain, its standard error) of ``pred`` over ``other`` on the same rows, better-positive.

    The two are scored on the same rows, so their errors are correlated and the gain's error
    is far smaller than either metric's: AUC by DeLong's paired covariance (placement values
    of both on the same positives and negatives), a mean of row terms (brier, log loss,
    accuracy, MAE) by the row differences, RMSE and R² through the squared errors' mean
    difference, anything else by a seeded paired bootstrap. NaN when it cannot be estimated.
    """
    y, a, b = np.asarray(y), np.asarray(pred, dtype=float), np.asarray(other, dtype=float)
    sign = 1.0 if HIGHER_IS_BETTER[metric] else -1.0
    if metric == "auc" and task.kind == "binary":
        y = y.astype(float).ravel()
        mine, theirs = _placements(y, a.ravel()), _placements(y, b.ravel())
        if mine is None or theirs is None:
            return float("nan"), float("nan")
        d10, d01 = mine[1] - theirs[1], mine[2] - theirs[2]
        se = math.sqrt(np.var(d10, ddof=1) / d10.size + np.var(d01, ddof=1) / d01.size)
        return mine[0] - theirs[0], se
    squared = metric in ("rmse", "r2") and task.kind == "regression"  # both from the MSE
    rows_a = row_losses("rmse" if squared else metric, y, a, task)  # rmse's terms: squared errors
    rows_b = row_losses("rmse" if squared else metric, y, b, task)
    if rows_a is not None and y.size >= 2:  # noqa: PLR2004 (a variance needs two rows)
        d = rows_a - rows_b
        gain, se = float(d.mean()), float(np.std(d, ddof=1) / math.sqrt(d.size))
        if not squared:
            return sign * gain, se
        if metric == "r2":  # 1 - mse / var(y): the same var(y) for both
            scale = float(np.var(y)) or float("nan")
            return -gain / scale, se / scale
        total = math.sqrt(rows_a.mean()) + math.sqrt(rows_b.mean())  # rmse_a - rmse_b = d / total
        return -gain / total, se / total
    rng, diffs = np.random.default_rng(0), np.empty(DRAWS)
    for i in range(DRAWS):
        rows = rng.integers(0, y.size, y.size)
        diffs[i] = task.score(y[rows], a[rows], metric) - task.score(y[rows], b[rows], metric)
    diffs = diffs[np.isfinite(diffs)]
    if diffs.size < DRAWS // 2:
        return float("nan"), float("nan")
    return task.score(y, a, metric) - task.score(y, b, metric), float(np.std(diffs, ddof=1))
