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

from factory_assets.components.model_line.configs import Holdout
from factory_assets.lib.evaluation import permutation_importance, segment_metrics, worst_segment
from factory_assets.lib.holdout import holdout_fallback, judge
from factory_assets.lib.markdown import frame_table
from factory_assets.lib.model_card import model_card
from factory_assets.lib.model_line import ModelLine
from factory_assets.lib.registration import holdout_tags
from factory_assets.lib.task_tables import confusion_table, holdout_tables, residual_deciles
from factory_assets.lib.tasks import Task
from factory_assets.lib.training.dataset import ModelColumns

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


def test_the_model_card_says_the_task_and_shows_its_tables_and_the_leakage_guard() -> None:
    y = np.array([0, 0, 1, 2])
    table = frame_table(confusion_table(y, np.eye(3)[[0, 1, 1, 2]], CLASSES))
    card = model_card(
        name="delay_class",
        version="3",
        description="How late a flight arrives.",
        label="delay_class",
        features="flight_features",
        data_version="sha256:00",
        code_version="0" * 40,
        window={"train": ("2013-01-01", "2013-06-30")},
        params={},
        metrics=MULTICLASS.metrics(y, np.eye(3)[[0, 1, 1, 2]]),
        segment_tables={},
        importance_table=None,
        gate={"promoted": True, "reason": "first model"},
        task=MULTICLASS,
        task_tables={"confusion": table},
        leakage={
            "metric": "accuracy",
            "max_score": 0.99,
            "rows": 4000,
            "scores": {"arrival_delay": 1.0, "carrier": 0.61},
            "leaks": [],
            "allowed": ["arrival_delay"],
        },
    )
    assert (
        "- Task: multiclass: one probability per class of `delay_class` "
        "(on_time, late, very_late)." in card
    )
    assert "### Confusion matrix (rows: true class; columns: predicted) and recall" in card
    assert (
        "| true | predicted on_time | predicted late | predicted very_late | n | recall |" in card
    )
    assert "| recall_late | 1.0000 |" in card and "| macro_f1 |" in card
    assert "Each input alone on 4000 training rows; accuracy 0.99 or more is a leak." in card
    assert "| arrival_delay | 1.0 allowed |" in card and "| carrier | 0.61 |" in card


def test_holdout_fallback_and_tags_follow_the_lines_task() -> None:
    columns = ModelColumns("id", "day", "y", (), ("x",))
    regression = ModelLine(name="r", features="t", columns=columns, task=REGRESSION)
    multiclass = ModelLine(name="m", features="t", columns=columns, task=MULTICLASS)
    same = pl.DataFrame({"y": [4.0, 4.0, 4.0]})
    assert holdout_fallback(same, regression) == (
        "the holdout window's column 'y' cannot judge: 3 labelled rows, all with the value 4.0"
    )
    assert holdout_fallback(same.with_columns(pl.Series("y", [1.0, 2.0, 3.0])), regression) is None
    late = pl.DataFrame({"y": ["late", "late"]})
    assert "all of class 'late'" in holdout_fallback(late, multiclass)
    assert "2 labelled rows (fewest 30)" in holdout_fallback(late, multiclass, min_rows=30)
    metrics = REGRESSION.metrics(np.array([1.0, 2.0, 4.0]), np.array([1.5, 2.0, 3.0]))
    assert holdout_tags(regression, metrics) == {
        "holdout_rmse": f"{metrics['rmse']:.4f}",
        "holdout_mae": "0.5000",
        "holdout_r2": f"{metrics['r2']:.4f}",
    }
    binary = ModelLine(name="b", features="t", columns=columns)
    assert set(holdout_tags(binary, {"auc": 0.7, "brier": 0.2, "log_loss": 0.5})) == {
        "holdout_auc",
        "holdout_brier",
        "holdout_log_loss",
    }


def _holdout_config(importance_rows: int = 300) -> Holdout:
    return Holdout(
        holdout_start="2024-03-01",
        holdout_end="2024-03-07",
        importance_rows=importance_rows,
        min_segment_rows=50,
    )


@pytest.mark.parametrize("task", [REGRESSION, MULTICLASS], ids=lambda t: t.kind)
def test_judge_gives_each_tasks_metrics_tables_segments_and_importance(task: Task) -> None:
    rng = np.random.default_rng(8)
    n = 600
    signal, noise = rng.normal(size=n), rng.normal(size=n)
    station = np.where(np.arange(n) < 400, "good", "bad")
    wobble = np.where(station == "bad", rng.normal(0, 2, n), rng.normal(0, 0.2, n))
    if task.kind == "regression":
        label = pl.Series("y", 10 * signal + wobble)
    else:
        label = pl.Series("y", np.asarray(CLASSES)[np.digitize(signal + wobble, [-0.5, 0.5])])
    holdout = pl.DataFrame({"station": station, "signal": signal, "noise": noise}).with_columns(
        label
    )
    columns = ModelColumns("id", "day", "y", ("station",), ("signal", "noise"))
    line = ModelLine(name="m", features="t", columns=columns, task=task)

    def predict(frame: pl.DataFrame) -> np.ndarray:
        s = frame["signal"].to_numpy()
        if task.kind == "regression":
            return 10 * s
        logits = 4 * np.stack([-s - 0.5, np.zeros_like(s), s - 0.5], axis=1)
        e = np.exp(logits)
        return e / e.sum(axis=1, keepdims=True)

    result = judge(predict, holdout, line, _holdout_config(), ["station"])
    assert set(task.metric_names) <= set(result["metrics"]) and result["rows"] == n
    table = {"regression": "residuals", "multiclass": "confusion"}[task.kind]
    assert list(result["tables"]) == [table, "by_station", "importance"]
    assert result["worst_segment"]["station"][0] == "bad"
    importance = result["tables"]["importance"].splitlines()
    assert importance[2].split("|")[1].strip() == "signal"  # the decisive input first
    assert f"baseline_{task.primary}" in importance[0]
    one_value = holdout.with_columns(
        pl.lit(0.0 if task.kind == "regression" else "late").alias("y")
    )
    with pytest.raises(ValueError, match="holdout window 2024-03-01 to 2024-03-07 cannot judge"):
        judge(predict, one_value, line, _holdout_config(), [])
    unjudged = judge(predict, holdout, line, _holdout_config(importance_rows=0), [])
    assert unjudged["tables"]["importance"] == "_Not computed: `importance_rows` is 0._"
