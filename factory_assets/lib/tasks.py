"""What a model predicts, and everything that follows from it: binary, regression, multiclass.

A ``Task`` is the spec's ``task`` with its classes. It says how a label column becomes training
targets, how wide the net's output is, what the served predictions are, which metrics judge a
model and which way each is better. Stations ask the task; none of them tests the kind itself.

Predictions (``pred``) throughout: binary, the probability of the positive class ([n]);
regression, the value in the label's units ([n]); multiclass, one probability per class
([n, k], rows sum to 1, columns in ``classes`` order). Pure numpy/Polars: torch lives in
lib/training/heads.py.
"""

from dataclasses import dataclass
from typing import Literal

import numpy as np
import polars as pl

Kind = Literal["binary", "regression", "multiclass"]
KINDS: tuple[str, ...] = ("binary", "regression", "multiclass")
EPS = 1e-7  # probability clipping for log loss

# metric -> whether higher is better; every metric a gate or a performance floor may name
HIGHER_IS_BETTER: dict[str, bool] = {
    "auc": True,
    "brier": False,
    "log_loss": False,
    "rmse": False,
    "mae": False,
    "r2": True,
    "accuracy": True,
    "macro_f1": True,
}
METRICS: dict[str, tuple[str, ...]] = {
    "binary": ("auc", "brier", "log_loss"),
    "regression": ("rmse", "mae", "r2"),
    "multiclass": ("log_loss", "accuracy", "macro_f1"),
}
PRIMARY: dict[str, str] = {"binary": "auc", "regression": "rmse", "multiclass": "log_loss"}
# floors a spec gets when it names none: what any model worth serving clears
DEFAULT_FLOORS: dict[str, dict[str, float]] = {
    "binary": {"auc": 0.6, "brier": 0.25},  # a constant 0.5 scores AUC 0.5 and Brier 0.25
    "regression": {"r2": 0.0},  # R² 0: the training mean as a constant
    "multiclass": {},
}


def metric_label(metric: str) -> str:
    """A metric as messages write it: AUC, RMSE, MAE, R², or its words (log loss, ...)."""
    named = {"auc": "AUC", "rmse": "RMSE", "mae": "MAE", "r2": "R²", "brier": "Brier"}
    return named.get(metric, metric.replace("_", " "))


class LabelError(ValueError):
    """A label column that does not fit its task (message names the values found)."""


@dataclass(frozen=True)
class Task:
    """The spec's ``task`` and, for multiclass, its ``classes`` (output order)."""

    kind: Kind = "binary"
    classes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"task {self.kind!r}: allowed {', '.join(KINDS)}")
        if self.kind == "multiclass" and len(self.classes) < 3:  # noqa: PLR2004
            raise ValueError("a multiclass task needs three classes or more")
        if self.kind != "multiclass" and self.classes:
            raise ValueError(f"a {self.kind} task has no class list")

    @property
    def outputs(self) -> int:
        """Width of the net's output: one logit or value, or one logit per class."""
        return len(self.classes) if self.kind == "multiclass" else 1

    @property
    def primary(self) -> str:
        """The metric a gate judges by when the spec names none."""
        return PRIMARY[self.kind]

    @property
    def metric_names(self) -> tuple[str, ...]:
        """The metrics a gate or performance floor of this task may name."""
        return METRICS[self.kind]

    @property
    def default_floors(self) -> dict[str, float]:
        """Floors of a spec that names none."""
        return dict(DEFAULT_FLOORS[self.kind])

    @property
    def output_column(self) -> str:
        """The predictions table's column that drift watches: probability or prediction."""
        return "probability" if self.kind == "binary" else "prediction"

    def encode(self, labels: pl.Series) -> np.ndarray:
        """Training targets from labelled rows (no nulls): float32 0/1 or values, or class ids.

        Raises:
            LabelError: a binary label with other values than 0/1 (true/false), a regression
                label that is not numeric, a multiclass label with a value outside ``classes``.
        """
        name = labels.name
        if self.kind == "multiclass":
            text = labels.cast(pl.String)
            unknown = sorted(set(text.unique().to_list()) - set(self.classes))
            if unknown:
                raise LabelError(
                    f"label {name!r} has values {unknown[:5]} outside the classes "
                    f"{list(self.classes)}"
                )
            index = {c: i for i, c in enumerate(self.classes)}
            return text.replace_strict(index, return_dtype=pl.Int64).to_numpy()
        if not (labels.dtype.is_numeric() or labels.dtype == pl.Boolean):
            raise LabelError(f"label {name!r} is {labels.dtype}: a {self.kind} label is numeric")
        values = labels.cast(pl.Float64)
        if self.kind == "binary":
            seen = set(values.unique().to_list())
            if not seen <= {0.0, 1.0}:
                raise LabelError(
                    f"label {name!r} has values {sorted(seen)[:5]}: a binary label is 0/1"
                )
        return values.to_numpy().astype(np.float32)

    def metrics(self, y: np.ndarray, pred: np.ndarray) -> dict[str, float]:
        """The task's metrics of ``pred`` against encoded targets ``y`` (plus ``n``)."""
        if self.kind == "binary":
            from factory_assets.lib.evaluation import binary_metrics

            return binary_metrics(y, pred)
        if self.kind == "regression":
            return regression_metrics(y, pred)
        return multiclass_metrics(y, pred, self.classes)

    def score(self, y: np.ndarray, pred: np.ndarray, metric: str | None = None) -> float:
        """``metric`` (default: the primary) as a number where higher is better."""
        metric = metric or self.primary
        value = self.metrics(y, pred)[metric]
        return value if HIGHER_IS_BETTER[metric] else -value

    def why_cannot_judge(self, y: np.ndarray, min_rows: int = 1) -> str | None:
        """Why targets ``y`` cannot judge a model (None: they can): too few rows, one class."""
        n = int(np.asarray(y).size)
        if n < max(min_rows, 1):
            return f"{n} labelled rows (fewest {max(min_rows, 1)})"
        if self.kind == "binary":
            positives = int(np.asarray(y).sum())
            if positives in {0, n}:
                return f"{n} labelled rows, all of one class ({positives} positive)"
        if self.kind == "multiclass":
            present = np.unique(y)
            if present.size < 2:  # noqa: PLR2004
                return f"{n} labelled rows, all of class {self.classes[int(present[0])]!r}"
        if self.kind == "regression" and float(np.std(y)) == 0.0:
            return f"{n} labelled rows, all with the value {float(y[0])}"
        return None

    def prediction_columns(self, pred: np.ndarray) -> dict[str, pl.Series]:
        """The predictions table's columns of ``pred``, by name, in order.

        binary: ``probability`` (Float32); regression: ``prediction`` (Float64); multiclass:
        ``prediction`` (the class, String), ``probability`` (of that class, Float32) and
        ``probabilities`` (every class's, List[Float32] in ``classes`` order).
        """
        if self.kind == "binary":
            return {"probability": pl.Series("probability", pred, dtype=pl.Float32)}
        if self.kind == "regression":
            return {"prediction": pl.Series("prediction", pred, dtype=pl.Float64)}
        probs = np.asarray(pred, dtype=np.float32).reshape(-1, len(self.classes))
        best = probs.argmax(axis=1) if probs.size else np.empty(0, dtype=np.int64)
        return {
            "prediction": pl.Series("prediction", np.asarray(self.classes)[best], dtype=pl.String),
            "probability": pl.Series("probability", probs.max(axis=1, initial=0.0)),
            "probabilities": pl.Series("probabilities", probs.tolist(), pl.List(pl.Float32)),
        }

    def described(self, label: str) -> str:
        """One sentence for the model card: what the served number is."""
        if self.kind == "binary":
            return f"binary: the probability that `{label}` is true."
        if self.kind == "regression":
            return f"regression: the expected value of `{label}`, in its own units."
        return f"multiclass: one probability per class of `{label}` ({', '.join(self.classes)})."


def regression_metrics(y: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    """RMSE, MAE, R² (vs the mean of ``y``), n, mean label and mean prediction."""
    y, p = np.asarray(y, dtype=float).ravel(), np.asarray(pred, dtype=float).ravel()
    if y.shape != p.shape:
        raise ValueError(f"y has {y.size} values but pred has {p.size}")
    if y.size == 0:
        nan = float("nan")
        return dict(rmse=nan, mae=nan, r2=nan, n=0.0, mean_label=nan, mean_prediction=nan)
    error = p - y
    total = float(np.sum((y - y.mean()) ** 2))
    return {
        "rmse": float(np.sqrt(np.mean(error**2))),
        "mae": float(np.mean(np.abs(error))),
        "r2": float(1 - np.sum(error**2) / total) if total > 0 else float("nan"),
        "n": float(y.size),
        "mean_label": float(y.mean()),
        "mean_prediction": float(p.mean()),
    }


def multiclass_metrics(y: np.ndarray, probs: np.ndarray, classes: tuple[str, ...]) -> dict:
    """Log loss, accuracy, macro-F1 (over classes present in y or predicted), recall per class."""
    y = np.asarray(y, dtype=np.int64).ravel()
    k = len(classes)
    probs = np.asarray(probs, dtype=float).reshape(-1, k)
    if y.size != probs.shape[0]:
        raise ValueError(f"y has {y.size} values but probs has {probs.shape[0]} rows")
    if y.size == 0:
        nan = float("nan")
        return {"log_loss": nan, "accuracy": nan, "macro_f1": nan, "n": 0.0}
    picked = np.clip(probs[np.arange(y.size), y], EPS, 1.0)
    predicted = probs.argmax(axis=1)
    matrix = confusion(y, predicted, k)
    true_n, pred_n, hits = matrix.sum(axis=1), matrix.sum(axis=0), np.diag(matrix)
    recall = np.divide(hits, true_n, out=np.full(k, np.nan), where=true_n > 0)
    precision = np.divide(hits, pred_n, out=np.zeros(k), where=pred_n > 0)
    f1 = np.divide(
        2 * precision * np.nan_to_num(recall),
        precision + np.nan_to_num(recall),
        out=np.zeros(k),
        where=(precision + np.nan_to_num(recall)) > 0,
    )
    seen = (true_n > 0) | (pred_n > 0)
    return {
        "log_loss": float(-np.mean(np.log(picked))),
        "accuracy": float(hits.sum() / y.size),
        "macro_f1": float(f1[seen].mean()),
        "n": float(y.size),
        **{f"recall_{c}": float(r) for c, r in zip(classes, recall, strict=True)},
    }


def confusion(y: np.ndarray, predicted: np.ndarray, k: int) -> np.ndarray:
    """Counts of k x k: row = true class, column = predicted class."""
    return np.bincount(y * k + predicted, minlength=k * k).reshape(k, k)
