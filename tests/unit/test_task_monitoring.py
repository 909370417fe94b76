"""Monitoring per task: served performance, prediction drift and the summary by month.

Regression models are judged on RMSE, MAE and R² of the served value; multiclass models on log
loss, accuracy, macro-F1 and recall per class of the served probabilities; a multiclass
model's served class drifts as a category. Real tables in a DuckLake, no model needed.
"""

import datetime as dt
from pathlib import Path
from types import SimpleNamespace

import duckdb
import numpy as np
import polars as pl
import pytest

from factory_assets.lib.calendar import Calendar
from factory_assets.lib.lake import connect
from factory_assets.lib.model_line import ModelLine
from factory_assets.lib.monitoring import monitored_columns
from factory_assets.lib.performance import day_rows, metric_columns
from factory_assets.lib.performance_verdict import verdicts
from factory_assets.lib.replay_report import judged, read_history, summary_text
from factory_assets.lib.tasks import Task
from factory_assets.lib.training.dataset import ModelColumns

D = dt.date(2015, 10, 7)
REGRESSION = Task("regression")
MULTICLASS = Task("multiclass", ("on_time", "late", "very_late"))


def _line(task: Task) -> ModelLine:
    return ModelLine(
        name="m",
        features="f",
        columns=ModelColumns("id", "day", "y", ("station",), ("x",)),
        calendar=Calendar("daily", dt.datetime(2015, 1, 1)),
        task=task,
    )


def _served(conn: duckdb.DuckDBPyConnection, line: ModelLine, pred: np.ndarray, labels: list):
    """Write ``pred`` as the line's scoring writes it, labels in the features; read them back."""
    n = len(labels)
    served = pl.DataFrame(
        {"id": list(range(n)), "day": [D] * n, "model_name": ["m"] * n, "model_version": ["3"] * n}
    ).with_columns(**line.task.prediction_columns(pred))
    features = pl.DataFrame({"id": list(range(n)), "day": [D] * n, "y": labels, "x": [0.0] * n})
    conn.register("served_view", served.to_arrow())
    conn.register("features_view", features.to_arrow())
    conn.sql("create or replace table m_predictions as select * from served_view")
    conn.sql("create or replace table f as select * from features_view")
    bounds = line.bounds([line.calendar.period_of(D)])
    return conn.sql(line.labelled_predictions_sql(), params=bounds).pl()


def test_a_regression_is_judged_on_the_served_value(tmp_path: Path) -> None:
    line = _line(REGRESSION)
    with connect(tmp_path / "w.sqlite") as conn:
        frame = _served(conn, line, np.array([10.0, 20.0, 30.0, 44.0]), [10.0, 20.0, 30.0, 40.0])
        scored = conn.sql(line.scored_sql(), params=line.bounds([line.calendar.period_of(D)])).pl()
    assert frame.columns[:2] == ["served_at", "prediction"]
    assert scored["prediction"].to_list() == [10.0, 20.0, 30.0, 44.0]
    table = day_rows(frame, D, D + dt.timedelta(days=14), REGRESSION)
    row = table.row(0, named=True)
    assert row["rmse"] == pytest.approx(2.0) and row["mae"] == pytest.approx(1.0)
    assert row["r2"] == pytest.approx(1 - 16 / 500)
    assert row["mean_label"] == pytest.approx(25.0) and row["mean_prediction"] == 26.0
    assert "auc" not in table.columns
    assert row["r2_low"] <= row["r2"] <= row["r2_high"] and row["periods"] == 1
    config = SimpleNamespace(min_rows=4, floors={"r2": 0.99, "rmse": 5.0}, alpha=0.05)
    # four rows prove nothing: R² 0.968 is under its floor, but its interval holds the floor
    judged_models, failed, failed_by = verdicts(table, pl.DataFrame(), config, line)
    assert judged_models == ["m"] and failed == [] and failed_by == []
    # the same shortfall, sure of itself, for the five periods before: the sequence rejects
    history = pl.concat(
        table.with_columns(pl.lit(D - dt.timedelta(days=i)).alias("day"), r2_se=pl.lit(0.01))
        for i in range(5, 0, -1)
    )
    _, failed, failed_by = verdicts(table, history, config, line)
    assert failed_by == ["sequential"]
    assert (
        failed[0].startswith("m: R² 0.968 [")
        and "floor 0.99 rejected over 6 period(s)" in failed[0]
    )
    # another model version starts its own sequence
    other = history.with_columns(model_version=pl.lit("other"))
    assert verdicts(table, other, config, line)[1] == []


def test_a_multiclass_model_is_judged_on_its_class_probabilities(tmp_path: Path) -> None:
    line = _line(MULTICLASS)
    probs = np.array([[0.8, 0.1, 0.1], [0.2, 0.7, 0.1], [0.5, 0.3, 0.2], [0.1, 0.1, 0.8]])
    labels = ["on_time", "late", "late", "very_late"]
    with connect(tmp_path / "w.sqlite") as conn:
        frame = _served(conn, line, probs, labels)
        scored = conn.sql(line.scored_sql(), params=line.bounds([line.calendar.period_of(D)])).pl()
    assert scored["prediction"].to_list() == ["on_time", "late", "on_time", "very_late"]
    table = day_rows(frame, D, D + dt.timedelta(days=1), MULTICLASS)
    metrics = list(metric_columns(MULTICLASS))
    assert table.columns[5 : 5 + len(metrics)] == metrics  # after day, landed, model, rows, periods
    row = table.row(0, named=True)
    expected = -np.mean(np.log([0.8, 0.7, 0.3, 0.8]))
    assert row["log_loss"] == pytest.approx(expected, rel=1e-5)
    assert row["accuracy"] == 0.75 and row["recall_late"] == 0.5 and row["recall_on_time"] == 1
    assert row["accuracy_low"] <= 0.75 <= row["accuracy_high"]
    assert 0.0 < row["estimated_accuracy"] < 1.0  # the estimate before labels, beside it
    config = SimpleNamespace(min_rows=1, floors={"log_loss": 1.2, "accuracy": 0.8}, alpha=0.05)
    assert verdicts(table, pl.DataFrame(), config, line)[1] == []  # 4 rows: within the intervals
    config.floors = {"log_loss": 0.05, "accuracy": 0.8}  # no row's loss is that low
    _, failed, failed_by = verdicts(table, pl.DataFrame(), config, line)
    assert failed_by == ["interval"] and "past the ceiling 0.05 (interval)" in failed[0]


def test_a_wrong_label_in_the_served_window_names_the_values(tmp_path: Path) -> None:
    line = _line(MULTICLASS)
    with connect(tmp_path / "w.sqlite") as conn:
        frame = _served(conn, line, np.full((2, 3), 1 / 3), ["on_time", "cancelled"])
    with pytest.raises(ValueError, match="cancelled"):
        day_rows(frame, D, D, MULTICLASS)


def test_the_prediction_drifts_as_a_number_or_as_a_class() -> None:
    assert monitored_columns((), ("x",), ("station",)) == (["x", "prediction"], ["station"])
    assert monitored_columns(("x",), ("x",), ("station",), numeric_prediction=False) == (
        [],
        ["station", "prediction"],
    )


@pytest.mark.parametrize(
    ("task", "metrics", "line"),
    [
        (
            REGRESSION,
            {"rmse": 2.0, "mae": 1.0, "r2": 0.9},
            "2015-10: RMSE 2.000 (MAE 1.000, R² 0.900",
        ),
        (
            MULTICLASS,
            {"log_loss": 0.7, "accuracy": 0.6, "macro_f1": 0.4},
            "2015-10: log loss 0.700 (accuracy 0.600, macro f1 0.400",
        ),
    ],
)
def test_the_summary_gives_the_served_primary_metric_by_month(
    task: Task, metrics: dict, line: str, tmp_path: Path
) -> None:
    with connect(tmp_path / "w.sqlite") as conn:
        rows = pl.DataFrame(
            {"day": [D, D + dt.timedelta(days=30)], "model_name": ["m", "m"], "rows": [200, 200]}
        ).with_columns(**{m: pl.lit(v) for m, v in metrics.items()})
        conn.register("rows_view", rows.to_arrow())
        conn.sql("create table m_performance as select * from rows_view")
        conn.sql("create table m_drift as select date '2015-10-07' as day, 0.1 as drifted_share")
        performance, drift = read_history(conn, "m_performance", "m_drift", task)
    assert judged(performance, 100, task.primary).height == 2
    text = summary_text(performance, drift, [], "y", 100, task)
    assert line in text and "2015-11:" in text
    assert "AUC" not in text and "share of rows" not in text
