"""Tree models for every task: real LightGBM, its ONNX graph under onnxruntime, calibration.

Each task's trees beat a constant on validation; the graph has the net's signature (``cat``,
``num``, the task's output name and shape) and serves what LightGBM serves with its calibration,
on rows whose categories are unknown or missing and whose numerics are null.
"""

import datetime as dt

import numpy as np
import onnx
import polars as pl
import pytest

from factory_assets.lib.packaging import OUTPUT_NAMES, ParityError, onnx_predict
from factory_assets.lib.scoring import MODEL_FILE, PREPROCESSOR_FILE, PackagedModel
from factory_assets.lib.training import gbdt_onnx, models
from factory_assets.lib.training.gbdt import GbdtConfig, predict_served, train_gbdt
from tests.model.shops import COLUMNS, START, TASKS, shop_frame

TRAIN = (START, START + dt.timedelta(days=23))
VAL = (START + dt.timedelta(days=24), START + dt.timedelta(days=29))
FAST = GbdtConfig(max_trees=60, num_threads=1)


def _frame(kind: str, rows: int = 3000, seed: int = 1) -> pl.DataFrame:
    """Rows over 30 days: tests/model/shops.py."""
    return shop_frame(kind, rows, seed)


@pytest.fixture(scope="module", params=list(TASKS))
def fitted(request: pytest.FixtureRequest) -> tuple:
    kind = request.param
    frame = _frame(kind)
    outcome = train_gbdt(frame, TRAIN, VAL, FAST, columns=COLUMNS, task=TASKS[kind])
    return TASKS[kind], frame, outcome


def test_trees_beat_a_constant_on_validation(fitted: tuple) -> None:
    task, frame, outcome = fitted
    val = frame.filter(pl.col("day").is_between(*VAL))
    y = task.encode(val["y"])
    pred = models.predict_frame(outcome.model, outcome.preprocessor, val)
    if task.kind == "multiclass":
        constant = np.tile(np.bincount(y, minlength=3) / y.size, (y.size, 1))
    else:
        constant = np.full(y.size, y.mean())
    assert task.score(y, pred) > task.score(y, constant) + 0.05
    assert outcome.metrics["val/score"] == pytest.approx(task.score(y, pred), abs=1e-9)


def test_onnx_serves_what_lightgbm_serves_with_calibration(fitted: tuple, tmp_path) -> None:
    task, frame, outcome = fitted
    pre = outcome.preprocessor
    if task.kind != "regression":  # a fitted calibration, not the identity, is in the graph
        assert pre.calibration != {"scale": 1.0, "shift": 0.0}
    path = gbdt_onnx.export(outcome.model, pre, tmp_path / "model.onnx")
    graph = onnx.load(str(path)).graph
    assert [i.name for i in graph.input] == ["cat", "num"]
    assert [o.name for o in graph.output] == [OUTPUT_NAMES[task.kind]]
    every = pl.col("id") % 3
    odd = frame.head(400).with_columns(  # unseen shops, missing shops, missing sizes
        pl.when(every == 0).then(pl.lit("never-seen")).when(every == 1).then(None)
        .otherwise(pl.col("shop")).alias("shop"),
        pl.when(pl.col("id") % 5 == 0).then(None).otherwise(pl.col("size")).alias("size"),
    )  # fmt: skip
    cat, num = pre.transform(odd)
    assert (cat == 0).sum() > 100  # unknown and missing categories are code 0
    diff = gbdt_onnx.check_parity(outcome.model, pre, path, cat, num)
    assert diff < 1e-5
    served = onnx_predict(path, cat, num)
    expected_shape = (400, 3) if task.kind == "multiclass" else (400,)
    assert served.shape == expected_shape
    np.testing.assert_allclose(served, predict_served(outcome.model, pre, cat, num), rtol=1e-5,
                               atol=1e-5)  # fmt: skip


def test_a_package_of_trees_scores_like_a_net_package(fitted: tuple, tmp_path) -> None:
    task, frame, outcome = fitted
    models.export(outcome.model, outcome.preprocessor, tmp_path / MODEL_FILE)
    (tmp_path / PREPROCESSOR_FILE).write_text(outcome.preprocessor.to_json())
    package = PackagedModel(tmp_path)
    rows = frame.head(50)
    np.testing.assert_allclose(
        package.predict(rows),
        models.predict_frame(outcome.model, outcome.preprocessor, rows),
        rtol=1e-5, atol=1e-5,
    )  # fmt: skip


def test_parity_names_a_graph_that_disagrees(fitted: tuple, tmp_path) -> None:
    task, frame, outcome = fitted
    other = train_gbdt(frame, TRAIN, VAL, GbdtConfig(max_trees=2, num_threads=1),
                       columns=COLUMNS, task=task)  # fmt: skip
    path = gbdt_onnx.export(other.model, outcome.preprocessor, tmp_path / "model.onnx")
    cat, num = outcome.preprocessor.transform(frame.head(100))
    with pytest.raises(ParityError, match="max abs diff"):
        gbdt_onnx.check_parity(outcome.model, outcome.preprocessor, path, cat, num)


def test_inputs_on_a_split_threshold_go_the_same_way_in_lightgbm_and_onnx(fitted, tmp_path) -> None:  # noqa: ANN001
    task, frame, outcome = fitted
    pre, booster = outcome.preprocessor, outcome.model.booster
    n_cat = len(pre.categorical)
    splits = []  # (feature, threshold) of every numeric split

    def walk(node: dict) -> None:
        if "split_index" in node:
            # LightGBM reads |x| <= 1e-35 as 0: its splits between 0 and a value hold 1e-35
            numeric = node["decision_type"] == "<=" and node["split_feature"] >= n_cat
            if numeric and abs(node["threshold"]) > 1e-30:  # noqa: PLR2004
                splits.append((node["split_feature"] - n_cat, node["threshold"]))
            walk(node["left_child"])
            walk(node["right_child"])

    for tree in booster.dump_model()["tree_info"]:
        walk(tree["tree_structure"])
    splits = sorted(set(splits))[:900]  # 3 rows each, within the frame's rows
    assert splits
    cat, num = pre.transform(frame.head(len(splits) * 3))
    num = num.copy()
    for i, (feature, threshold) in enumerate(splits):  # on it, and one float32 step each side
        at = np.float32(threshold)
        num[3 * i : 3 * i + 3, feature] = [at, np.nextafter(at, np.inf), np.nextafter(at, -np.inf)]
    path = gbdt_onnx.export(outcome.model, pre, tmp_path / "model.onnx")
    assert gbdt_onnx.check_parity(outcome.model, pre, path, cat, num) < 1e-5
