"""The blend (lib/training/blend.py): a real net and real trees averaged, for every task.

Trained on a synthetic frame of 40 days (training 24, validation 6, a holdout of 10): the blend
judged on validation scores the mean of its parts; its one ONNX graph serves that mean (parity);
it saves, loads and packages like any model; its refit refits both parts, and a part that is
also the baseline once.
"""

import datetime as dt

import numpy as np
import onnx
import polars as pl
import pytest

from factory_assets.lib.model_line import ModelLine
from factory_assets.lib.packaging import OUTPUT_NAMES, ParityError, onnx_predict
from factory_assets.lib.scoring import MODEL_FILE, PREPROCESSOR_FILE, PackagedModel
from factory_assets.lib.training import blend, models
from factory_assets.lib.training.candidates import Trial
from factory_assets.lib.training.gbdt import GbdtConfig, train_gbdt
from factory_assets.lib.training.refit import refit_run
from factory_assets.lib.training.train import TrainConfig, train_model
from tests.model.shops import COLUMNS, START, TASKS, shop_frame

CFG = TrainConfig("2020-03-01", "2020-03-24", val_days=6, max_epochs=3, hidden=[8], seed=3)
HOLDOUT = (dt.date(2020, 3, 31), dt.date(2020, 4, 9))
TREES = GbdtConfig(max_trees=60, num_threads=1)


def _frame(kind: str, rows: int = 3000, seed: int = 1) -> pl.DataFrame:
    """Rows over 40 days (training, validation, a holdout): tests/model/shops.py."""
    return shop_frame(kind, rows, seed, days=40)


@pytest.fixture(scope="module", params=list(TASKS))
def fitted(request: pytest.FixtureRequest) -> tuple:
    """A task's frame, line, and its trials: the net, the trees and their blend."""
    task = TASKS[request.param]
    frame, line = _frame(request.param), ModelLine("shops", "features", COLUMNS, task=task)
    net = train_model(frame, CFG, columns=COLUMNS, task=task)
    trees = train_gbdt(frame, CFG.train_window, CFG.val_window, TREES, columns=COLUMNS, task=task)
    trials = [Trial("mlp", net, 1.0, CFG), Trial("gbdt", trees, 1.0)]
    blended = blend.blend_trial(trials, frame, CFG, line)
    return task, frame, line, trials, blended


def test_the_blend_is_judged_on_the_mean_of_its_parts(fitted: tuple) -> None:
    task, frame, _, trials, blended = fitted
    assert blended.architecture == "blend" and blended.config == CFG  # the net's shape to save
    val = frame.filter(pl.col("day").is_between(*CFG.val_window))
    y = task.encode(val["y"])
    parts = [models.predict_frame(t.outcome.net, t.outcome.preprocessor, val) for t in trials]
    mean = (parts[0] + parts[1]) / 2
    assert blended.outcome.metrics["val/score"] == pytest.approx(task.score(y, mean), abs=1e-9)
    served = models.predict_frame(blended.outcome.net, blended.outcome.preprocessor, val)
    np.testing.assert_allclose(served, mean, rtol=1e-6, atol=1e-9)
    assert not np.allclose(parts[0], parts[1])  # two models, not one twice


def test_one_onnx_graph_serves_the_blend(fitted: tuple, tmp_path) -> None:  # noqa: ANN001
    task, frame, _, _, blended = fitted
    model, pre = blended.outcome.net, blended.outcome.preprocessor
    path = models.export(model, pre, tmp_path / MODEL_FILE)
    graph = onnx.load(str(path)).graph
    assert [i.name for i in graph.input] == ["cat", "num"]
    assert [o.name for o in graph.output] == [OUTPUT_NAMES[task.kind]]
    odd = frame.head(300).with_columns(  # unseen and missing shops, missing sizes
        pl.when(pl.col("id") % 3 == 0).then(pl.lit("never-seen")).otherwise(pl.col("shop"))
        .alias("shop"),
    )  # fmt: skip
    cat, num = pre.transform(odd)
    assert models.check_parity(model, pre, path, cat, num, 1e-5) < 1e-5
    (tmp_path / PREPROCESSOR_FILE).write_text(pre.to_json())
    np.testing.assert_allclose(
        PackagedModel(tmp_path).predict(odd), models.predict_frame(model, pre, odd),
        rtol=1e-5, atol=1e-5,
    )  # fmt: skip
    shape = (300, 3) if task.kind == "multiclass" else (300,)
    assert onnx_predict(path, cat, num).shape == shape


def test_parity_names_a_blend_graph_that_disagrees(fitted: tuple, tmp_path) -> None:  # noqa: ANN001
    _, frame, _, trials, blended = fitted
    model, pre = blended.outcome.net, blended.outcome.preprocessor
    only_trees = trials[1].outcome
    path = models.export(only_trees.net, only_trees.preprocessor, tmp_path / MODEL_FILE)
    with pytest.raises(ParityError, match="max abs diff"):
        models.check_parity(model, pre, path, *pre.transform(frame.head(200)), 1e-5)


def test_a_blend_saves_and_loads_whole(fitted: tuple, tmp_path) -> None:  # noqa: ANN001
    _, frame, _, _, blended = fitted
    model, pre = blended.outcome.net, blended.outcome.preprocessor
    models.save(model, pre, tmp_path / "training", CFG.hidden, CFG.dropout)
    loaded, loaded_pre = models.load(tmp_path / "training")
    assert models.architecture(loaded) == "blend"
    assert [n for n, _, _ in loaded.parts] == ["mlp", "gbdt"]
    rows = frame.head(100)
    np.testing.assert_allclose(
        models.predict_frame(loaded, loaded_pre, rows), models.predict_frame(model, pre, rows),
        rtol=1e-6, atol=1e-6,
    )  # fmt: skip
    copy = models.copied(model)
    assert copy.parts[0][1] is not model.parts[0][1]  # the net copied; the trees shared
    assert models.size_bytes(model) > models.size_bytes(model.parts[1][1])


def test_a_blend_refits_both_parts_and_the_shared_trees_once(fitted: tuple) -> None:
    task, frame, line, trials, blended = fitted
    window = (START, HOLDOUT[1])
    outcomes, record = refit_run(
        frame, CFG, window, HOLDOUT, line, {"training": blended, "baseline": trials[1]}
    )
    served = outcomes["refit"]
    assert models.architecture(served.net) == "blend"
    trees = dict((n, m) for n, m, _ in served.net.parts)["gbdt"]
    assert trees is outcomes["baseline_refit"].net  # the baseline's refit is the blend's part
    assert served.train_rows == frame.filter(pl.col("day").is_between(*window)).height
    assert record["folders"] == {"training": "refit", "baseline": "baseline_refit"}
    assert "gbdt/trees" in record and "mlp/epochs" in record
    rows = frame.head(100)
    refitted = models.predict_frame(served.net, served.preprocessor, rows)
    assert not np.allclose(
        refitted, models.predict_frame(blended.outcome.net, blended.outcome.preprocessor, rows)
    )


def test_no_blend_where_the_parts_read_their_inputs_differently(fitted: tuple) -> None:
    task, frame, line, trials, _ = fitted
    standard = train_model(frame, TrainConfig(**{**CFG.__dict__, "scaling": "standard"}),
                           columns=COLUMNS, task=task)  # fmt: skip
    other = [Trial("mlp", standard, 1.0, CFG), trials[1]]
    assert blend.blend_trial(other, frame, CFG, line) is None
    assert blend.blend_trial(trials[:1], frame, CFG, line) is None  # no trees: nothing to blend
    assert blend.with_blend(other, frame, CFG, line, required=False) == other  # auto: no blend
    with pytest.raises(ValueError, match="architecture blend: .* transform the inputs differently"):
        blend.with_blend(other, frame, CFG, line, required=True)
