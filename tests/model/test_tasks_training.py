"""Every task trained, exported and scored on synthetic rows: real torch, ONNX and DuckDB.

Binary, regression and multiclass each: training beats a constant on validation, the ONNX
package serves what torch serves (probabilities, a value in label units, class probabilities),
the predictions table gets the task's columns, a bad label names its column and window, and a
window that cannot judge a model is refused before training with its dates and counts.
"""

import datetime as dt
import re
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from factory_assets.lib.holdout import torch_predict
from factory_assets.lib.lake import connect
from factory_assets.lib.model_line import ModelLine
from factory_assets.lib.packaging import check_parity, export_onnx, onnx_predict
from factory_assets.lib.scoring import MODEL_FILE, PREPROCESSOR_FILE, PackagedModel, score
from factory_assets.lib.tasks import LabelError, Task
from factory_assets.lib.training.dataset import ModelColumns
from factory_assets.lib.training.judging import ThinDataError, judge_windows
from factory_assets.lib.training.train import TrainConfig, train_model
from factory_assets.lib.warehouse import describe_table, replace_partitions

CLASSES = ("on_time", "late", "very_late")
TASKS = {
    "binary": Task("binary"),
    "regression": Task("regression"),
    "multiclass": Task("multiclass", CLASSES),
}
COLUMNS = ModelColumns("id", "day", "y", ("carrier",), ("hour", "noise"))
CONFIG = TrainConfig(
    train_start="2013-01-01", train_end="2013-01-24", val_days=6, max_epochs=4, batch_size=128
)
START = dt.date(2013, 1, 1)


def _frame(kind: str, rows: int = 2400, seed: int = 0) -> pl.DataFrame:
    """Rows over 30 days whose label follows the hour and the carrier, plus noise."""
    rng = np.random.default_rng(seed)
    hour, carrier = rng.integers(5, 23, rows), rng.choice(["UA", "DL", "EV"], rows)
    signal = (hour - 14) / 3 + (carrier == "EV") * 1.0 + rng.normal(scale=0.5, size=rows)
    labels = {
        "binary": signal > 0.3,
        "regression": 50.0 + 10.0 * signal,  # label units: tens, not a standardized value
        "multiclass": np.asarray(CLASSES)[np.digitize(signal, [-0.5, 1.0])],
    }[kind]
    return pl.DataFrame(
        {
            "id": np.arange(rows),
            "day": [START + dt.timedelta(days=int(d)) for d in rng.integers(0, 30, rows)],
            "carrier": carrier,
            "hour": hour,
            "noise": rng.normal(size=rows),
            "y": labels,
        }
    )


def _window(frame: pl.DataFrame, window: tuple) -> pl.DataFrame:
    return frame.filter(pl.col("day").is_between(*window))


@pytest.fixture(scope="module", params=list(TASKS))
def trained(request: pytest.FixtureRequest) -> tuple[Task, pl.DataFrame, object]:
    kind = request.param
    frame = _frame(kind)
    return TASKS[kind], frame, train_model(frame, CONFIG, columns=COLUMNS, task=TASKS[kind])


def test_training_beats_a_constant_on_validation(trained: tuple) -> None:
    task, frame, outcome = trained
    val = _window(frame, CONFIG.val_window)
    y = task.encode(val["y"])
    pred = torch_predict(outcome.net, outcome.preprocessor, val)
    train_y = task.encode(_window(frame, CONFIG.train_window)["y"])
    if task.kind == "multiclass":
        constant = np.tile(np.bincount(train_y, minlength=3) / train_y.size, (y.size, 1))
    else:
        constant = np.full(y.size, train_y.mean())
    model, baseline = task.score(y, pred), task.score(y, constant)  # higher is better
    if task.kind == "binary":
        assert model > 0.8  # AUC; a constant's is 0.5
    else:
        assert model > baseline + 0.3 * abs(baseline)  # RMSE, log loss: 30% below a constant's
    primary = {"binary": "val/auroc", "regression": "val/rmse", "multiclass": "val/log_loss"}
    logged = outcome.metrics[primary[task.kind]]
    assert outcome.metrics["val/score"] == pytest.approx(
        logged if task.kind == "binary" else -logged
    )
    assert logged == pytest.approx(abs(model), rel=1e-4)  # the logged metric is the served one's


def test_onnx_serves_what_torch_serves(trained: tuple, tmp_path: Path) -> None:
    task, frame, outcome = trained
    pre, rows = outcome.preprocessor, _window(frame, CONFIG.val_window)
    path = export_onnx(outcome.net, len(pre.categorical), pre.n_numeric, tmp_path / MODEL_FILE, pre)
    cat, num = pre.transform(rows)
    assert check_parity(outcome.net, path, cat, num, atol=1e-5, preprocessor=pre) <= 1e-5
    served, expected = onnx_predict(path, cat, num), torch_predict(outcome.net, pre, rows)
    assert served.shape == ((rows.height, 3) if task.kind == "multiclass" else (rows.height,))
    scale = max(1.0, float(np.abs(expected).max())) if task.kind == "regression" else 1.0
    assert np.abs(served - expected).max() <= 1e-5 * scale  # regression: in label units
    if task.kind == "multiclass":
        np.testing.assert_allclose(served.sum(axis=1), 1.0, atol=1e-5)
        with pytest.raises(ValueError, match="pass the preprocessor"):  # never a sigmoid head
            export_onnx(outcome.net, len(pre.categorical), pre.n_numeric, tmp_path / "x.onnx")
    if task.kind == "regression":  # label units: the mean is near 50, not 0
        assert abs(served.mean() - task.encode(rows["y"]).mean()) < 5.0
    (tmp_path / PREPROCESSOR_FILE).write_text(pre.to_json())
    package = PackagedModel(tmp_path)
    assert package.task == task
    np.testing.assert_array_equal(package.predict(rows), served)
    assert package.predict(rows.head(0)).shape[0] == 0


def test_the_predictions_table_gets_the_task_columns(trained: tuple, tmp_path: Path) -> None:
    task, frame, outcome = trained
    pre, rows = outcome.preprocessor, _window(frame, CONFIG.val_window).head(50)
    export_onnx(outcome.net, len(pre.categorical), pre.n_numeric, tmp_path / MODEL_FILE, pre)
    (tmp_path / PREPROCESSOR_FILE).write_text(pre.to_json())
    line = ModelLine("m", "features", COLUMNS, task=task)
    scored = score(rows, line, {None: ("m", "1", PackagedModel(tmp_path), False)})
    columns = list(task.prediction_columns(np.zeros((0, 3) if task.outputs > 1 else 0)))
    assert scored.columns[: 2 + len(columns)] == ["id", "day", *columns]
    with connect(tmp_path / "w.sqlite") as conn:
        days = scored["_partition_date"].unique().to_list()
        for _ in range(2):  # replaced, not appended
            replace_partitions(conn, [("m_predictions", scored)], "_partition_date", days)
        count, described = describe_table(conn, "m_predictions")
    types = dict(described)
    assert count == rows.height
    expected = {
        "binary": {"probability": "FLOAT"},
        "regression": {"prediction": "DOUBLE"},
        "multiclass": {"prediction": "VARCHAR", "probability": "FLOAT", "probabilities": "FLOAT[]"},
    }[task.kind]
    assert {c: types[c] for c in expected} == expected
    other = ModelLine(
        "m", "features", COLUMNS, task=TASKS["binary" if task.kind != "binary" else "regression"]
    )
    with pytest.raises(ValueError, match=f"m v1 predicts {task.kind}"):
        score(rows, other, {None: ("m", "1", PackagedModel(tmp_path), False)})


@pytest.mark.parametrize(
    ("kind", "labels", "found"),
    [
        ("regression", lambda y: y.cast(pl.String), "String"),
        (
            "binary",
            lambda y: y.cast(pl.Int8) + (pl.int_range(pl.len()) % 3 == 0),
            r"\[0\.0, 1\.0, 2\.0\]",
        ),
        ("multiclass", lambda y: y.replace("late", "lost"), "lost"),
    ],
)
def test_a_bad_label_names_its_column_and_window(kind: str, labels, found: str) -> None:  # noqa: ANN001
    frame = _frame(kind, rows=400)
    frame = frame.with_columns(labels(pl.col("y")).alias("y"))
    with pytest.raises(
        LabelError, match=f"training window 2013-01-01..2013-01-24: label 'y'.*{found}"
    ):
        train_model(frame, CONFIG, columns=COLUMNS, task=TASKS[kind], fast_dev_run=True)


def _line(kind: str) -> ModelLine:
    return ModelLine("m", "features", COLUMNS, task=TASKS[kind])


@pytest.mark.parametrize(
    ("kind", "holdout", "message"),
    [
        (
            "binary",
            lambda f: f.with_columns(pl.lit(False).alias("y")),
            r"all of one class \(0 positive\)",
        ),
        ("multiclass", lambda f: f.with_columns(pl.lit("late").alias("y")), "all of class 'late'"),
        ("regression", lambda f: f.head(12), r"\(fewest 30\)"),
    ],
)
def test_a_window_that_cannot_judge_is_named_with_its_counts(
    kind: str, holdout, message: str
) -> None:  # noqa: ANN001
    frame = _frame(kind)
    window = (dt.date(2013, 1, 25), dt.date(2013, 1, 30))
    rows = holdout(_window(frame, window))
    windows = {
        "validation": (CONFIG.val_window, _window(frame, CONFIG.val_window)),
        "holdout": (window, rows),
    }
    with pytest.raises(
        ThinDataError,
        match=f"^holdout 2013-01-25..2013-01-30: label y has {rows.height} labelled rows",
    ) as error:
        judge_windows(_line(kind), windows, min_rows=30)
    assert re.search(message, str(error.value))
    assert "validation" not in str(error.value)  # a window that can judge is not named
    judge_windows(_line(kind), {"validation": windows["validation"]}, min_rows=30)


def test_every_thin_window_is_named_and_a_bad_label_names_its_window() -> None:
    frame = _frame("multiclass")
    empty = frame.clear()
    windows = {
        "validation": (CONFIG.val_window, empty),
        "holdout": (("2013-02-01", "2013-02-07"), empty),
    }
    with pytest.raises(
        ThinDataError,
        match=r"validation 2013-01-25..2013-01-30: label y has 0 labelled rows \(fewest 30\); "
        r"holdout 2013-02-01..2013-02-07: label y has 0",
    ):
        judge_windows(_line("multiclass"), windows, min_rows=30)
    bad = frame.with_columns(pl.lit("lost").alias("y"))
    with pytest.raises(
        LabelError, match="holdout 2013-02-01..2013-02-07: label 'y' has values \\['lost'\\]"
    ):
        judge_windows(_line("multiclass"), {"holdout": (("2013-02-01", "2013-02-07"), bad)}, 30)


def test_a_reused_regression_graph_serves_its_own_label_scale(tmp_path: Path) -> None:
    """The export cache writes each net's own label mean and std into the shared graph."""
    import torch

    from factory_assets.lib.training.dataset import Preprocessor
    from factory_assets.lib.training.export_cache import OnnxExports, Templates
    from factory_assets.lib.training.tabular_module import TabularNet

    exports, cat, num = (
        OnnxExports(Templates()),
        np.zeros((4, 1), np.int64),
        np.ones((4, 2), np.float32),
    )
    for i, (mean, std) in enumerate([(10.0, 2.0), (5000.0, 300.0)]):
        torch.manual_seed(i)
        net = TabularNet([3], 2, [4])
        pre = Preprocessor(task="regression", label_mean=mean, label_std=std)
        path = exports.export(net, 1, 2, tmp_path / f"{i}.onnx", pre)
        check_parity(net, path, cat, num, preprocessor=pre)
        assert abs(onnx_predict(path, cat, num).mean() - mean) < 3 * std
    exported = export_onnx(net, 1, 2, tmp_path / "exported.onnx", pre)
    assert path.read_bytes() == exported.read_bytes()  # the reused graph is the exporter's file
    binary = exports.export(TabularNet([3], 2, [4]), 1, 2, tmp_path / "binary.onnx")
    assert (exports.exported, exports.reused) == (2, 1)  # the binary head is another graph
    assert ((onnx_predict(binary, cat, num) > 0) & (onnx_predict(binary, cat, num) < 1)).all()
