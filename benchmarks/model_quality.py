"""Pure parts of the model_quality benchmark: the GBDT baselines and the served-metric measures.

Everything here works on numpy arrays and Polars frames: labels ``y`` encoded as the task does
(lib/tasks.py ``Task.encode``), predictions shaped as its packages serve them ([n], or [n, k]
for multiclass), and one group label per row (its period, its month, its serving version).
"""

import math

import numpy as np
import polars as pl

from factory_assets.lib.tasks import HIGHER_IS_BETTER, Task

SOURCES = ("factory", "frozen_gbdt", "monthly_gbdt")
MAX_CATEGORIES = 250  # HistGradientBoosting's categorical limit is max_bins (255) values


def vocabulary(train: pl.DataFrame, categorical: list[str]) -> dict[str, dict[str, int]]:
    """Per categorical column, its ``MAX_CATEGORIES`` most frequent training values -> codes."""
    out = {}
    for column in categorical:
        counts = train[column].cast(pl.String).drop_nulls().value_counts(sort=True)
        values = counts[column].head(MAX_CATEGORIES).to_list()
        out[column] = {v: i for i, v in enumerate(sorted(values))}
    return out


def matrix(frame: pl.DataFrame, vocab: dict, numeric: list[str]) -> np.ndarray:
    """Inputs as float64: categorical codes (unseen or rare values NaN), then numeric columns."""
    columns = [
        frame[c].cast(pl.String).replace_strict(codes, default=None, return_dtype=pl.Float64)
        for c, codes in vocab.items()
    ]
    columns += [frame[c].cast(pl.Float64) for c in numeric]
    if not columns:
        raise ValueError("no input column")
    return np.column_stack([c.fill_null(np.nan).to_numpy() for c in columns])


def fit_gbdt(task: Task, train: pl.DataFrame, label: str, categorical: list, numeric: list):  # noqa: ANN201
    """scikit-learn HistGradientBoosting (max_iter 200, learning rate 0.05, defaults otherwise).

    Returns a predict function: feature rows -> the task's predictions.
    """
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    vocab = vocabulary(train, categorical)
    x, y = matrix(train, vocab, numeric), task.encode(train[label])
    mask = [True] * len(vocab) + [False] * len(numeric)
    cls = (
        HistGradientBoostingRegressor
        if task.kind == "regression"
        else HistGradientBoostingClassifier
    )
    # defaults otherwise; seeded: early stopping (on above 10,000 rows) draws its own split
    model = cls(categorical_features=mask or None, max_iter=200, learning_rate=0.05, random_state=0)
    model.fit(x, y if task.kind == "regression" else y.astype(np.int64))

    def predict(frame: pl.DataFrame) -> np.ndarray:
        features = matrix(frame, vocab, numeric)
        if task.kind == "regression":
            return model.predict(features)
        proba = model.predict_proba(features)
        if task.kind == "binary":
            return (
                proba[:, list(model.classes_).index(1)] if 1 in model.classes_ else proba[:, 0] * 0
            )
        full = np.zeros((features.shape[0], len(task.classes)))
        full[:, model.classes_.astype(int)] = proba  # a class absent from training: 0
        return full

    return predict


def metric(task: Task, y: np.ndarray, pred: np.ndarray) -> float:
    """The task's primary metric (binary AUC, regression RMSE, multiclass log loss); NaN if none."""
    if task.why_cannot_judge(y) is not None:
        return math.nan
    return float(task.metrics(y, pred)[task.primary])


def by_group(task: Task, y: np.ndarray, pred: np.ndarray, groups: np.ndarray) -> dict[str, float]:
    """The primary metric of each group's rows, groups in sorted order."""
    return {
        str(g): metric(task, y[groups == g], pred[groups == g])
        for g in sorted(set(groups.tolist()))
    }


def mean(values: list[float]) -> float | None:
    """Mean of the defined values (None when none is)."""
    defined = [v for v in values if v is not None and not math.isnan(v)]
    return float(np.mean(defined)) if defined else None


def margin(task: Task, factory: float | None, monthly: float | None) -> float | None:
    """How much better the factory is than the monthly GBDT, in the metric's own direction."""
    if factory is None or monthly is None:
        return None
    return factory - monthly if HIGHER_IS_BETTER[task.primary] else monthly - factory


def one_scale_gap(
    task: Task, y: np.ndarray, pred: np.ndarray, months: np.ndarray, versions: np.ndarray
) -> dict[str, float]:
    """Per month served by two versions or more: row-weighted own-rows metric − pooled metric.

    Each version's metric on its own rows of the month, weighted by its rows, minus the month's
    metric pooled over all of them: for AUC, how much ranking is lost by mixing versions that
    score on different scales (positive: lost). A mean over rows (log loss) gives 0 by
    construction; for RMSE a negative gap is a loss. Months with a version whose rows cannot
    judge it are left out.
    """
    out = {}
    for month in sorted(set(months.tolist())):
        rows = months == month
        served = sorted(set(versions[rows].tolist()))
        if len(served) < 2:  # noqa: PLR2004
            continue
        parts = [(metric(task, y[rows & (versions == v)], pred[rows & (versions == v)]),
                  int((rows & (versions == v)).sum())) for v in served]  # fmt: skip
        pooled = metric(task, y[rows], pred[rows])
        if math.isnan(pooled) or any(math.isnan(m) for m, _ in parts):
            continue
        weighted = sum(m * n for m, n in parts) / sum(n for _, n in parts)
        out[str(month)] = weighted - pooled
    return out


def segment_gaps(  # noqa: PLR0913
    task: Task,
    y: np.ndarray,
    pred: np.ndarray,
    months: np.ndarray,
    versions: np.ndarray,
    segments: np.ndarray,
) -> dict[str, float]:
    """``one_scale_gap`` within each segment (its versions), row-weighted over segments per month.

    A segmented line serves each segment by its own model: versions of two segments never
    score the same rows, so only a segment's own versions are compared.
    """
    parts: dict[str, list] = {}
    for segment in sorted(set(segments.tolist())):
        rows = segments == segment
        found = one_scale_gap(task, y[rows], pred[rows], months[rows], versions[rows])
        for month, gap in found.items():
            parts.setdefault(month, []).append((gap, int((rows & (months == month)).sum())))
    return {m: sum(g * n for g, n in v) / sum(n for _, n in v) for m, v in parts.items()}


def measures(  # noqa: PLR0913
    task: Task,
    y: np.ndarray,
    preds: dict[str, np.ndarray],
    periods: np.ndarray,
    months: np.ndarray,
    versions: np.ndarray,
    segments: np.ndarray | None = None,
) -> dict:
    """The benchmark's record of one model: per month, per measure, and the one-scale gap.

    ``preds`` maps each of ``SOURCES`` to its predictions of the same rows. Measures:
    ``pooled`` (one metric over all rows of a month, averaged over months) and ``per_period``
    (the mean of the per-period values over every period), each with ``factory_mean``,
    ``frozen_gbdt_mean``, ``monthly_gbdt_mean`` and ``margin_vs_monthly``. With ``segments``
    (a segmented line's column) the one-scale gap compares versions within a segment.
    """
    monthly = {s: by_group(task, y, p, months) for s, p in preds.items()}
    daily = {s: by_group(task, y, p, periods) for s, p in preds.items()}
    record = {}
    for name, values in (("pooled", monthly), ("per_period", daily)):
        means = {f"{s}_mean": mean(list(values[s].values())) for s in SOURCES}
        gap = margin(task, means["factory_mean"], means["monthly_gbdt_mean"])
        record[name] = {**means, "margin_vs_monthly": gap}
    if segments is None:
        gaps = one_scale_gap(task, y, preds["factory"], months, versions)
    else:
        gaps = segment_gaps(task, y, preds["factory"], months, versions, segments)
    by_month = []
    for month in sorted(monthly["factory"]):
        rows = months == month
        by_month.append({
            "month": month,
            "rows": int(rows.sum()),
            "periods": len(set(periods[rows].tolist())),
            "versions": sorted(set(versions[rows].tolist())),
            **{s: monthly[s][month] for s in SOURCES},
            **{f"{s}_period_mean": mean([daily[s][p] for p in set(periods[rows].tolist())])
               for s in SOURCES},
            "one_scale_gap": gaps.get(month),
        })  # fmt: skip
    record["by_month"] = by_month
    record["one_scale_gap_mean"] = mean(list(gaps.values()))
    record["months_with_several_versions"] = len(gaps)
    record["periods"], record["rows"] = len(daily["factory"]), int(y.size)
    return record
