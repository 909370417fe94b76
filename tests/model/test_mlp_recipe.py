"""The MLP recipe: early stopping keeps the best epoch, the schedule moves the learning rate,
numerics scale robustly (old preprocessors as before), and the served head is calibrated."""

import dataclasses
import datetime as dt
import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import torch
from lightning.pytorch.loggers import CSVLogger

from factory_assets.lib.holdout import torch_predict
from factory_assets.lib.packaging import check_parity, export_onnx, onnx_predict
from factory_assets.lib.tasks import Task
from factory_assets.lib.training.dataset import ModelColumns, Preprocessor
from factory_assets.lib.training.export_cache import OnnxExports, Templates
from factory_assets.lib.training.tabular_module import TabularNet, embedding_dims, lr_factor
from factory_assets.lib.training.train import TrainConfig, train_model

COLUMNS = ModelColumns("id", "day", "y", ("group",), ("x", "noise"))
START = dt.date(2013, 1, 1)
CONFIG = TrainConfig("2013-01-01", "2013-01-20", val_days=10, batch_size=64)


def _frame(rows: int = 1500, seed: int = 0, noise_labels: bool = False) -> pl.DataFrame:
    """30 days of rows; y follows x (or is a coin flip), and later days are late more often."""
    rng = np.random.default_rng(seed)
    days = rng.integers(0, 30, rows)
    x = rng.normal(size=rows)
    logit = 2.0 * x - 1.5 + 2.0 * (days >= 20)  # validation's positive rate is far higher
    y = rng.random(rows) < (0.5 if noise_labels else 1 / (1 + np.exp(-logit)))
    return pl.DataFrame(
        {
            "id": np.arange(rows),
            "day": [START + dt.timedelta(days=int(d)) for d in days],
            "group": rng.choice(["a", "b", "c"], rows),
            "x": x,
            "noise": rng.normal(size=rows),
            "y": y,
        }
    )


def _epochs(logger: CSVLogger) -> pl.DataFrame:
    """One row per epoch of what the run logged: val/loss, train/lr."""
    rows = pl.read_csv(Path(logger.log_dir) / "metrics.csv")
    return rows.group_by("epoch").agg(pl.col("val/loss", "train/lr").drop_nulls().first())


def test_early_stopping_stops_and_restores_the_best_epoch(tmp_path: Path) -> None:
    """Coin-flip labels: validation loss rises once the net memorises noise."""
    config = dataclasses.replace(CONFIG, max_epochs=40, patience=2, monitor="loss", lr=0.02,
                                 hidden=[64, 64], dropout=0.0)  # fmt: skip
    logger = CSVLogger(tmp_path)
    outcome = train_model(_frame(noise_labels=True), config, columns=COLUMNS, logger=logger)
    epochs = _epochs(logger).filter(pl.col("val/loss").is_not_null()).sort("epoch")
    best = int(epochs["val/loss"].arg_min())
    assert outcome.metrics["epochs"] == epochs.height < config.max_epochs  # stopped early
    assert outcome.metrics["best_epoch"] == best + 1 < epochs.height
    assert epochs["val/loss"][-1] > epochs["val/loss"][best]
    # the returned net is the best epoch's: its validation loss is that epoch's
    assert outcome.metrics["val/loss"] == pytest.approx(epochs["val/loss"][best], abs=1e-5)
    assert not list(tmp_path.rglob("*.ckpt"))  # the best weights were kept in memory


def test_the_schedule_warms_up_then_decays(tmp_path: Path) -> None:
    factors = [lr_factor(step, 10, 100) for step in range(100)]
    assert factors[0] == pytest.approx(0.1) and factors[9] == pytest.approx(1.0)
    assert all(a > b for a, b in zip(factors[10:], factors[11:], strict=False))
    assert 0.0 < factors[-1] < 0.05
    logger = CSVLogger(tmp_path)
    config = dataclasses.replace(CONFIG, max_epochs=4, patience=0)
    train_model(_frame(), config, columns=COLUMNS, logger=logger)
    lrs = _epochs(logger).sort("epoch")["train/lr"].to_list()
    assert lrs[0] < lrs[1] and lrs[1] > lrs[2] > lrs[3]  # mean lr of each epoch
    constant = CSVLogger(tmp_path, name="constant")
    train_model(_frame(), dataclasses.replace(config, lr_schedule="constant"), columns=COLUMNS,
                logger=constant)  # fmt: skip
    assert _epochs(constant)["train/lr"].to_list() == pytest.approx([config.lr] * 4)


def test_robust_scaling_clips_outliers_and_keeps_nulls() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(10.0, 2.0, 5000)
    x[:3] = 1e6  # a few broken readings (under the 0.1 % clipped)
    frame = pl.DataFrame({"x": x, "noise": rng.normal(size=5000)}).with_columns(
        pl.when(pl.int_range(pl.len()) % 50 == 7).then(None).otherwise("noise").alias("noise")
    )
    columns = ModelColumns("k", "d", "y", (), ("x", "noise"))
    robust, standard = (Preprocessor.fit(frame, columns, scaling=s) for s in ("robust", "standard"))
    typical = slice(3, None)
    scaled = robust.transform(frame)[1]
    assert 0.8 < scaled[typical, 0].std() < 1.2  # the outliers do not squash the others
    assert standard.transform(frame)[1][typical, 0].std() < 0.05
    assert scaled[:3, 0].max() == pytest.approx(scaled[typical, 0].max())  # clipped
    assert robust.clips["x"][1] < 1e6 and robust.means["x"] == pytest.approx(10.0, abs=0.2)
    low, high = robust.clips["x"]
    expected = (np.clip(x, low, high) - robust.means["x"]) / robust.stds["x"]
    np.testing.assert_array_equal(scaled[:, 0], expected.astype(np.float32))
    assert robust.missing_flags == ["noise"]
    nulls = frame["noise"].is_null().to_numpy()
    assert (scaled[nulls, 1] == 0).all() and (scaled[:, 2] == nulls).all()
    again = Preprocessor.from_json(robust.to_json())
    np.testing.assert_array_equal(again.transform(frame)[1], scaled)
    with pytest.raises(ValueError, match="scaling 'minmax' is unknown; allowed: robust"):
        Preprocessor.fit(frame, columns, scaling="minmax")


def test_a_preprocessor_saved_before_robust_scaling_transforms_as_before() -> None:
    saved = {  # preprocessor.json as packages registered before the recipe hold it
        "categorical": ["group"], "numeric": ["x"], "vocab": {"group": ["a", "b"]},
        "means": {"x": 3.0}, "stds": {"x": 2.0}, "missing_flags": ["x"],
        "task": "binary", "classes": [], "label_mean": 0.0, "label_std": 1.0,
    }  # fmt: skip
    pre = Preprocessor.from_json(json.dumps(saved))
    assert pre.scaling == "standard" and pre.clips == {}
    frame = pl.DataFrame({"group": ["b", "z", None], "x": [1e9, 3.0, None]})
    cat, num = pre.transform(frame)
    assert cat[:, 0].tolist() == [2, 0, 0]
    np.testing.assert_array_equal(num, np.array([[(1e9 - 3.0) / 2.0, 0], [0, 0], [0, 1]],
                                                np.float32))  # fmt: skip
    assert TabularNet(pre.cardinalities, 2, [4]).embeddings[0].embedding_dim == 2  # (3+1)//2


def test_embedding_sizes_follow_cardinality_up_to_the_cap() -> None:
    assert embedding_dims([2, 16, 100, 10_000]) == [2, 8, 16, 16]
    assert embedding_dims([100, 10_000], cap=64) == [21, 64]


def _served(kind: str, calibration: dict) -> tuple[TabularNet, Preprocessor]:
    task = Task("multiclass", ("a", "b", "c")) if kind == "multiclass" else Task(kind)
    net = TabularNet([4], 2, [8], outputs=task.outputs)
    return net, Preprocessor(task=task.kind, classes=list(task.classes), calibration=calibration)


@pytest.mark.parametrize("kind", ["binary", "multiclass"])
def test_the_calibrated_head_exports_with_parity(kind: str, tmp_path: Path) -> None:
    """Each net's own calibration is in its graph, reused from the export cache or not."""
    rng = np.random.default_rng(0)
    cat, num = rng.integers(0, 4, (64, 1)), rng.normal(size=(64, 2)).astype(np.float32)
    exports, served = OnnxExports(Templates()), {}
    for i, calibration in enumerate([{"scale": 3.0, "shift": -1.0}, {"scale": 0.4, "shift": 0.8}]):
        torch.manual_seed(0)  # the same weights: only the calibration differs
        net, pre = _served(kind, calibration)
        path = exports.export(net, 1, 2, tmp_path / f"{i}.onnx", pre)
        check_parity(net, path, cat, num, preprocessor=pre)
        served[i] = onnx_predict(path, cat, num)
    assert (exports.exported, exports.reused) == (1, 1)
    torch.manual_seed(0)
    net, pre = _served(kind, {"scale": 1.0, "shift": 0.0})
    identity = export_onnx(net, 1, 2, tmp_path / "identity.onnx", pre)
    plain = onnx_predict(identity, cat, num)
    assert np.abs(served[0] - served[1]).max() > 0.05 and np.abs(served[0] - plain).max() > 0.05


def test_calibration_brings_the_served_mean_to_the_observed_rate() -> None:
    """Validation days are late far more often than training days: the raw net is mis-scaled."""
    frame = _frame(3000)
    outcome = train_model(frame, CONFIG, columns=COLUMNS)
    val = frame.filter(pl.col("day").is_between(*CONFIG.val_window))
    observed = val["y"].mean()
    served = torch_predict(outcome.net, outcome.preprocessor, val)
    raw = torch_predict(outcome.net, dataclasses.replace(outcome.preprocessor, calibration={}), val)
    assert abs(raw.mean() - observed) > 0.1  # mis-scaled before calibration
    assert served.mean() == pytest.approx(observed, abs=0.01)
    assert outcome.preprocessor.calibration["shift"] > 0  # more late flights than trained on
    metrics = Task().metrics(val["y"].cast(pl.Float32).to_numpy(), served)
    assert outcome.metrics["val/brier"] == pytest.approx(metrics["brier"], abs=1e-6)
    assert outcome.metrics["val/log_loss"] < outcome.metrics["val_raw/log_loss"]
