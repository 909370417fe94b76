"""The holdout station's logic per task: judge, fallbacks, tags and the model card."""

import numpy as np
import polars as pl
import pytest

from factory_assets.components.model_line.configs import Holdout
from factory_assets.lib.holdout import evaluate_segment, holdout_fallback, judge
from factory_assets.lib.markdown import frame_table
from factory_assets.lib.model_card import model_card
from factory_assets.lib.model_line import ModelLine
from factory_assets.lib.registration import holdout_tags
from factory_assets.lib.task_tables import confusion_table
from factory_assets.lib.tasks import Task
from factory_assets.lib.training.dataset import ModelColumns

REGRESSION = Task("regression")
CLASSES = ("on_time", "late", "very_late")
MULTICLASS = Task("multiclass", CLASSES)


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


def test_a_holdout_that_cannot_judge_fails_a_model_of_no_segment_before_loading_it() -> None:
    columns = ModelColumns("id", "day", "y", (), ("x",))
    line = ModelLine(name="r", features="t", columns=columns, task=REGRESSION)
    holdout = pl.DataFrame({"x": [1.0, 2.0], "y": [5.0, 5.0]})
    with pytest.raises(ValueError) as raised:
        evaluate_segment({"run_id": "r"}, holdout, line, _holdout_config(), [], tracking=None)
    assert str(raised.value) == (
        "the holdout window's column 'y' cannot judge: 2 labelled rows, all with the value 5.0 "
        "(holdout window 2024-03-01 to 2024-03-07)"
    )
