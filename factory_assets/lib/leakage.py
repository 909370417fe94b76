"""The leakage guard: an input that alone predicts the label almost perfectly is a leak.

Each input is scored by itself on (a sample of) the training window. Its values become codes:
a categorical's values, a numeric's quantile bins (``BINS``), null a code of its own. Each row
is then predicted from the other half of the rows (a seeded two-fold split: a key-like input,
one value a row, predicts nothing out of fold) by its code's training statistic:

- binary: the code's positive rate, scored by AUC (max(auc, 1 - auc));
- regression: the code's mean label, scored by R² (for a numeric input at least the R² of a
  straight line through it: a copy of the label in other units);
- multiclass: the code's majority class, scored by accuracy.

An input scoring ``max_score`` or more that the spec does not ``allow`` is a leak; the gate
refuses a model with one (lib/registration.py). Pure numpy/Polars.
"""

import numpy as np
import polars as pl

from factory_assets.lib.tasks import Task, metric_label

BINS = 50  # quantile bins of a numeric input
SAMPLE_ROWS = 20_000  # training rows scored at most (a seeded sample of more): ~10 ms an input
SHOWN = 5  # inputs the result lists, best scoring first (every leak is listed besides)
SCORE_METRIC = {"binary": "auc", "regression": "r2", "multiclass": "accuracy"}


def _codes(values: pl.Series, numeric: bool) -> np.ndarray:
    """One int code per row: 0 for null, else the value's (categorical) or bin's (numeric)."""
    if not numeric:
        physical = values.cast(pl.String).cast(pl.Categorical).to_physical()
        codes = physical.cast(pl.Int64).fill_null(-1).to_numpy() + 1
        if codes.size and codes.max() > 4 * codes.size:  # codes of a process-wide list: compact
            codes = np.unique(codes, return_inverse=True)[1].astype(np.int64) + 1
            codes[values.is_null().to_numpy()] = 0
        return codes
    x = values.cast(pl.Float64).fill_nan(None).to_numpy()
    present = ~np.isnan(x)
    codes = np.zeros(x.size, dtype=np.int64)
    if present.any():
        edges = np.unique(np.quantile(x[present], np.linspace(0, 1, BINS + 1)[1:-1]))
        codes[present] = np.searchsorted(edges, x[present], side="right") + 1
    return codes


def _out_of_fold(codes: np.ndarray, y: np.ndarray, task: Task, fold: np.ndarray) -> np.ndarray:
    """Each row's prediction from the other fold's rows of its code (unseen: that fold's all)."""
    size = int(codes.max()) + 1
    k = len(task.classes)
    pred = np.empty((codes.size, k) if task.kind == "multiclass" else codes.size)
    for f in (0, 1):
        train, test = fold != f, fold == f
        c = codes[train]
        if task.kind == "multiclass":
            counts = np.zeros((size, k))
            np.add.at(counts, (c, y[train].astype(np.int64)), 1.0)
            prior = counts.sum(axis=0)
            counts[counts.sum(axis=1) == 0] = prior  # codes unseen in the other fold
            pred[test] = counts[codes[test]]
            continue
        n = np.bincount(c, minlength=size).astype(float)
        total = np.bincount(c, weights=y[train].astype(float), minlength=size)
        prior = total.sum() / max(n.sum(), 1.0)
        mean = np.divide(total, n, out=np.full(size, prior), where=n > 0)
        pred[test] = mean[codes[test]]
    return pred


def _grouped_auc(group: np.ndarray, y: np.ndarray, pred: np.ndarray) -> float:
    """AUC of ``pred`` when it is one value per ``group`` (fold x code): counts, not a sort of n."""
    size = int(group.max()) + 1
    rows = np.bincount(group, minlength=size)
    positives = np.bincount(group, weights=y, minlength=size)
    value = np.zeros(size)
    value[group] = pred
    kept = rows > 0
    _, index = np.unique(value[kept], return_inverse=True)
    pos = np.bincount(index, weights=positives[kept])
    neg = np.bincount(index, weights=rows[kept] - positives[kept])
    if pos.sum() == 0 or neg.sum() == 0:
        return float("nan")
    below = np.cumsum(neg) - neg  # negatives scored lower; ties count half
    return float((np.sum(pos * below) + 0.5 * np.sum(pos * neg)) / (pos.sum() * neg.sum()))


def _score(y: np.ndarray, pred: np.ndarray, task: Task, group: np.ndarray) -> float:
    if task.kind == "binary":
        auc = _grouped_auc(group, y, pred)
        return float("nan") if np.isnan(auc) else max(auc, 1.0 - auc)
    if task.kind == "multiclass":
        return float(np.mean(pred.argmax(axis=1) == y))
    total = float(np.sum((y - y.mean()) ** 2))
    return 1.0 - float(np.sum((y - pred) ** 2)) / total if total > 0 else float("nan")


def _line_r2(x: pl.Series, y: np.ndarray) -> float:
    """R² of the best straight line through a numeric input (rows where it is not null)."""
    values = x.cast(pl.Float64).fill_nan(None).to_numpy()
    present = ~np.isnan(values)
    if present.sum() < 3 or np.std(values[present]) == 0 or np.std(y[present]) == 0:  # noqa: PLR2004
        return float("nan")
    r = np.corrcoef(values[present], y[present])[0, 1]
    return float(r**2) * present.mean()  # nulls predict nothing: their share counts as 0


def input_scores(
    frame: pl.DataFrame, y: np.ndarray, task: Task, categorical: list, numeric: list
) -> dict[str, float]:
    """Each input's score alone (``SCORE_METRIC`` of the task), best first; NaN ones last."""
    fold = np.random.default_rng(0).integers(0, 2, frame.height)
    scores = {}
    for column in [*categorical, *numeric]:
        is_numeric = column in numeric
        codes = _codes(frame[column], is_numeric)
        group = codes * 2 + fold  # the rows that share a prediction
        score = _score(y, _out_of_fold(codes, y, task, fold), task, group)
        if task.kind == "regression" and is_numeric:
            line = _line_r2(frame[column], y)
            score = line if np.isnan(score) or line > score else score
        scores[column] = float(score)
    return dict(sorted(scores.items(), key=lambda kv: (np.isnan(kv[1]), -np.nan_to_num(kv[1]))))


def leakage(  # noqa: PLR0913
    frame: pl.DataFrame,
    label: str,
    task: Task,
    categorical: list,
    numeric: list,
    max_score: float = 0.99,
    allow: list | tuple = (),
) -> dict:
    """The leakage guard's verdict on the training rows ``frame`` (labelled, no null label).

    Returns:
        ``metric`` (auc, r2 or accuracy), ``max_score``, ``rows`` (scored), ``scores`` (the
        best ``SHOWN`` inputs and every one at or over ``max_score``, rounded), ``leaks``
        (inputs at or over it that are not allowed) and ``allowed`` (those that are).
    """
    if frame.height > SAMPLE_ROWS:
        frame = frame.sample(SAMPLE_ROWS, seed=0)
    y = task.encode(frame[label]) if frame.height else np.empty(0)
    scores = input_scores(frame, y, task, categorical, numeric) if frame.height > 1 else {}
    over = [c for c, s in scores.items() if s >= max_score]
    shown = {c: round(s, 4) for i, (c, s) in enumerate(scores.items()) if i < SHOWN or c in over}
    return {
        "metric": SCORE_METRIC[task.kind],
        "max_score": max_score,
        "rows": frame.height,
        "scores": {c: None if np.isnan(s) else s for c, s in shown.items()},
        "leaks": [c for c in over if c not in allow],
        "allowed": [c for c in over if c in allow],
    }


def leak_reason(found: dict | None, allow: list | tuple = ()) -> str | None:
    """Why the gate refuses a model whose evaluation ``found`` leaks (None: no leak).

    ``allow`` is the packaging config's list, so a run config may allow an input too.
    """
    leaks = [c for c in (found or {}).get("leaks", []) if c not in allow]
    if not leaks:
        return None
    metric = metric_label(found["metric"])
    named = "; ".join(
        f"input {c} alone scores {metric} {found['scores'][c]:.4f} on the training window"
        for c in leaks
    )
    return f"{named} (leakage; allow it in evaluation.leakage.allow)"
