"""Evaluation per task: metrics against sklearn, the task's tables, segments and importance."""

import numpy as np
import polars as pl
import pytest
from sklearn.metrics import (
    accuracy_score,
    f1_score,
    log_loss,
    mean_absolute_error,
    mean_squared_error,
    r2_score,
    recall_score,
)

from factory_assets.lib.evaluation import permutation_importance, segment_metrics, worst_segment
from factory_assets.lib.task_tables import confusion_table, holdout_tables, residual_deciles
from factory_assets.lib.tasks import Task

REGRESSION = Task("regression")
CLASSES = ("on_time", "late", "very_late")
MULTICLASS = Task("multiclass", CLASSES)


def _probs(rng: np.random.Generator, y: np.ndarray, signal: float) -> np.ndarray:
    """Class probabilities leaning ``signal`` towards the true class."""
    logits = rng.normal(size=(y.size, 3)) + signal * np.eye(3)[y]
    e = np.exp(logits)
    return e / e.sum(axis=1, keepdims=True)


def test_regression_metrics_match_sklearn() -> None:
    rng = np.random.default_rng(0)
    y = rng.normal(50, 10, 500)
    pred = y + rng.normal(0, 3, 500)
    m = REGRESSION.metrics(y, pred)
    assert m["rmse"] == pytest.approx(np.sqrt(mean_squared_error(y, pred)))
    assert m["mae"] == pytest.approx(mean_absolute_error(y, pred))
    assert m["r2"] == pytest.approx(r2_score(y, pred))
    assert REGRESSION.score(y, pred) == pytest.approx(-m["rmse"])  # lower is better


def test_multiclass_metrics_match_sklearn() -> None:
    rng = np.random.default_rng(1)
    y = rng.integers(0, 3, 600)
    probs = _probs(rng, y, 1.5)
    m = MULTICLASS.metrics(y, probs)
    predicted = probs.argmax(axis=1)
    assert m["log_loss"] == pytest.approx(log_loss(y, probs, labels=[0, 1, 2]))
    assert m["accuracy"] == pytest.approx(accuracy_score(y, predicted))
    assert m["macro_f1"] == pytest.approx(f1_score(y, predicted, average="macro"))
    recalls = recall_score(y, predicted, average=None)
    assert [m[f"recall_{c}"] for c in CLASSES] == pytest.approx(list(recalls))


def test_residual_deciles_split_rows_evenly_by_prediction() -> None:
    rng = np.random.default_rng(2)
    pred = rng.normal(size=105)
    y = pred - 1.0  # every residual is +1
    table = residual_deciles(y, pred)
    assert table["decile"].to_list() == list(range(10))
    assert table["n"].sum() == 105 and set(table["n"].to_list()) == {10, 11}
    assert table["mean_residual"].to_list() == pytest.approx([1.0] * 10)
    assert table["rmse"].to_list() == pytest.approx([1.0] * 10)
    assert table["mean_prediction"].is_sorted()
    assert residual_deciles(y[:3], pred[:3])["n"].to_list() == [1, 1, 1]  # fewer rows than bins


def test_confusion_table_counts_true_rows_by_predicted_columns() -> None:
    y = np.array([0, 0, 0, 1, 1, 2])
    probs = np.eye(3)[[0, 0, 1, 1, 2, 2]]
    table = confusion_table(y, probs, CLASSES)
    assert table.columns == [
        "true",
        "predicted on_time",
        "predicted late",
        "predicted very_late",
        "n",
        "recall",
    ]
    assert table.row(0) == ("on_time", 2, 1, 0, 3, pytest.approx(2 / 3))
    assert table.row(1) == ("late", 0, 1, 1, 2, 0.5)
    assert table.row(2) == ("very_late", 0, 0, 1, 1, 1.0)
    assert list(holdout_tables(MULTICLASS, y, probs)) == ["confusion"]
    assert list(holdout_tables(REGRESSION, y.astype(float), y.astype(float))) == ["residuals"]
    assert list(holdout_tables(Task(), np.array([0, 1]), np.array([0.2, 0.7]))) == ["calibration"]


def _regression_segments() -> pl.DataFrame:
    """Station A predicted within 1, B within 10; C's 5 rows are worse but too few to judge."""
    rng = np.random.default_rng(3)
    parts = []
    for station, n, noise in [("A", 300, 1.0), ("B", 300, 10.0), ("C", 5, 50.0)]:
        y = rng.normal(100, 20, n)
        parts.append(pl.DataFrame({"station": station, "y": y, "p": y + rng.normal(0, noise, n)}))
    return pl.concat(parts)


def test_regression_worst_segment_is_the_highest_rmse_among_reliable() -> None:
    table = segment_metrics(_regression_segments(), "station", min_rows=100, task=REGRESSION)
    assert table["segment"].to_list() == ["C", "B", "A"]  # worst (highest RMSE) first
    assert table.columns == [
        "segment",
        "n",
        "rmse",
        "mae",
        "r2",
        "mean_label",
        "mean_prediction",
        "is_reliable",
    ]
    assert worst_segment(table, "rmse")["segment"] == "B"  # C has 5 rows < 100
    assert worst_segment(table, "r2")["segment"] == "B"  # lowest R², same segment


def test_multiclass_worst_segment_is_the_highest_log_loss_and_one_class_is_unreliable() -> None:
    rng = np.random.default_rng(4)
    y = rng.integers(0, 3, 400)
    good, bad = _probs(rng, y[:200], 3.0), _probs(rng, y[200:], 0.2)
    frame = pl.DataFrame(
        {
            "origin": ["JFK"] * 200 + ["EWR"] * 200 + ["LGA"] * 50,
            "y": np.concatenate([y, np.zeros(50, dtype=np.int64)]),
            "p": np.concatenate([good, bad, np.tile([[0.1, 0.1, 0.8]], (50, 1))]),
        }
    )
    table = segment_metrics(frame, "origin", min_rows=10, task=MULTICLASS)
    assert table["segment"].to_list() == ["LGA", "EWR", "JFK"]
    reliable = dict(zip(table["segment"], table["is_reliable"], strict=True))
    assert reliable == {"LGA": False, "EWR": True, "JFK": True}  # LGA: all on_time
    assert worst_segment(table, MULTICLASS.primary)["segment"] == "EWR"
    assert worst_segment(table, "accuracy")["segment"] == "EWR"


def _frame(rng: np.random.Generator, n: int = 400) -> pl.DataFrame:
    return pl.DataFrame({"signal": rng.normal(size=n), "noise": rng.normal(size=n)})


def test_permutation_importance_on_regression_rmse() -> None:
    rng = np.random.default_rng(5)
    frame = _frame(rng)
    y = 3 * frame["signal"].to_numpy() + 0.1 * rng.normal(size=frame.height)

    def predict(f: pl.DataFrame) -> np.ndarray:
        return 3 * f["signal"].to_numpy()

    table = permutation_importance(
        predict, frame, y, ["noise", "signal"], repeats=2, task=REGRESSION
    )
    assert table["feature"].to_list() == ["signal", "noise"]
    assert table["importance"][0] > 2.0  # RMSE rises from 0.1 to about 4.2
    assert table["importance"][1] == pytest.approx(0.0)  # the model never reads it
    assert table["baseline_rmse"][0] == pytest.approx(np.sqrt(np.mean((predict(frame) - y) ** 2)))


def test_permutation_importance_on_multiclass_log_loss() -> None:
    rng = np.random.default_rng(6)
    frame = _frame(rng)
    y = np.digitize(frame["signal"].to_numpy(), [-0.5, 0.5])

    def predict(f: pl.DataFrame) -> np.ndarray:
        logits = 4 * np.stack([-f["signal"], np.zeros(f.height), f["signal"]], axis=1)
        e = np.exp(logits - logits.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    table = permutation_importance(
        predict, frame, y, ["noise", "signal"], repeats=2, task=MULTICLASS
    )
    assert table["feature"].to_list() == ["signal", "noise"]
    assert table["importance"][0] > 0.5 and table["importance"][1] == pytest.approx(0.0)
    assert "baseline_log_loss" in table.columns
    with pytest.raises(ValueError, match="all of class 'on_time'"):
        permutation_importance(
            predict, frame, np.zeros(frame.height, dtype=np.int64), ["signal"], task=MULTICLASS
        )
