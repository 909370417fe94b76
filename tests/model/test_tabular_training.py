"""The Lightning module and datamodule on synthetic rows: they run, learn and repeat exactly."""

import dataclasses
import datetime as dt

import numpy as np
import polars as pl
import pytest

from factory_assets.lib.features.flights import CATEGORICAL, NUMERIC
from factory_assets.lib.training.dataset import ModelColumns, Preprocessor
from factory_assets.lib.training.tabular_datamodule import TabularDataModule
from factory_assets.lib.training.train import TrainConfig, device_settings, train_model


def _frame(rows: int = 3000, seed: int = 0) -> pl.DataFrame:
    """Features where lateness depends on the hour and the carrier, as in life."""
    rng = np.random.default_rng(seed)
    start = dt.date(2013, 1, 1)
    hours = rng.integers(5, 23, rows)
    carriers = rng.choice(["UA", "DL", "EV", "B6"], rows)
    logit = (hours - 14) / 3 + (carriers == "EV") * 1.0 - 0.5
    frame = pl.DataFrame(
        {
            "flight_date": [start + dt.timedelta(days=int(d)) for d in rng.integers(0, 40, rows)],
            "carrier": carriers,
            "origin": rng.choice(["EWR", "JFK", "LGA"], rows),
            "dest": rng.choice(["ATL", "ORD", "LAX"], rows),
            "sched_hour": hours,
            "is_late": rng.random(rows) < 1 / (1 + np.exp(-logit)),
        }
    )
    frame = frame.with_columns((pl.col("origin") + "-" + pl.col("dest")).alias("route"))
    others = [c for c in NUMERIC if c not in frame.columns]
    return frame.with_columns(
        pl.Series(c, rng.normal(size=rows)).alias(c) for c in others
    ).with_columns(
        pl.when(pl.col("sched_hour") > 20)
        .then(None)
        .otherwise(pl.col(NUMERIC[-1]))
        .alias(NUMERIC[-1])
    )


COLUMNS = ModelColumns("flight_id", "flight_date", "is_late", tuple(CATEGORICAL), tuple(NUMERIC))
CONFIG = TrainConfig(
    train_start="2013-01-01", train_end="2013-01-30", val_days=10, max_epochs=3, batch_size=256
)


def test_fast_dev_run_on_cpu() -> None:
    outcome = train_model(_frame(), CONFIG, columns=COLUMNS, fast_dev_run=True)
    assert outcome.accelerator == "cpu" and outcome.precision == "32-true"
    assert np.isfinite(outcome.metrics["train/loss"])


def test_training_learns_and_two_runs_give_the_same_metrics() -> None:
    first, second = (train_model(_frame(), CONFIG, columns=COLUMNS) for _ in range(2))
    assert first.metrics == second.metrics
    assert first.metrics["val/auroc"] > 0.7  # the signal is strong; noise would give 0.5


def _batch_order(seed: int) -> list:
    """The training rows (their numerics) in the order the first epoch's batches bring them."""
    data = TabularDataModule(
        _frame(), CONFIG.train_window, CONFIG.val_window, columns=COLUMNS, seed=seed
    )
    data.setup()
    return [row for batch in data.train_dataloader() for row in batch["num"].tolist()]


def test_the_spec_seed_orders_the_batches() -> None:
    assert _batch_order(13) == _batch_order(13)
    assert _batch_order(13) != _batch_order(14)
    assert sorted(_batch_order(13)) == sorted(_batch_order(14))  # the same rows, reordered


def test_training_shuffles_with_the_config_seed(monkeypatch: pytest.MonkeyPatch) -> None:
    seeds = []
    loader = TabularDataModule.train_dataloader

    def spy(self: TabularDataModule):  # noqa: ANN202
        seeds.append(self.seed)
        return loader(self)

    monkeypatch.setattr(TabularDataModule, "train_dataloader", spy)
    train_model(_frame(), dataclasses.replace(CONFIG, seed=7), columns=COLUMNS, fast_dev_run=True)
    assert seeds == [7]


def test_preprocessor_round_trips_and_maps_unknowns_to_zero() -> None:
    frame = _frame(500)
    pre = Preprocessor.fit(frame, COLUMNS)
    again = Preprocessor.from_json(pre.to_json())
    unseen = frame.head(3).with_columns(pl.lit("ZZ").alias("carrier"))
    cat, num = again.transform(unseen)
    assert cat.shape == (3, len(CATEGORICAL)) and (cat[:, 0] == 0).all()
    assert num.shape == (3, pre.n_numeric) and num.dtype == np.float32
    assert NUMERIC[-1] in pre.missing_flags
    assert np.isfinite(num).all()


@pytest.mark.gpu
def test_gpu_training_uses_bf16() -> None:
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device: the GPU path is checked on a lent GPU machine")
    assert device_settings() == ("gpu", "bf16-mixed")
    outcome = train_model(_frame(), CONFIG, columns=COLUMNS)
    assert outcome.precision == "bf16-mixed" and outcome.metrics["val/auroc"] > 0.7
