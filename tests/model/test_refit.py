"""The served refit (lib/training/refit.py): same recipe, every labelled day through the holdout.

Real LightGBM and a real Lightning net on a synthetic frame of 40 days: training the first 24,
validation the next 6, the holdout the last 10. The refit reads all 40 days, keeps the
early-stopped size (trees scaled by the rows, the best epoch's count), serves its own outputs
(the identity calibration, not validation's), and differs from the gated model.
"""

import dataclasses
import datetime as dt

import numpy as np
import polars as pl
import pytest

from factory_assets.lib.model_line import ModelLine, Split
from factory_assets.lib.tasks import Task
from factory_assets.lib.training import models
from factory_assets.lib.training.candidates import Trial
from factory_assets.lib.training.dataset import ModelColumns
from factory_assets.lib.training.gbdt import GbdtConfig, train_gbdt
from factory_assets.lib.training.refit import (
    IDENTITY,
    refit_run,
    refit_window,
    served_folder,
)
from factory_assets.lib.training.train import TrainConfig, train_model

COLUMNS = ModelColumns("id", "day", "y", ("shop",), ("size", "noise"))
START = dt.date(2020, 3, 1)
CFG = TrainConfig("2020-03-01", "2020-03-24", val_days=6, max_epochs=3, hidden=[8], seed=3)
HOLDOUT = (dt.date(2020, 3, 31), dt.date(2020, 4, 9))
WINDOW = (START, HOLDOUT[1])
LINE = ModelLine("shops", "features", COLUMNS, task=Task())


def _frame(rows: int = 4000, seed: int = 1) -> pl.DataFrame:
    """Rows over 40 days; late days' labels lean on ``noise`` too (what only a refit sees)."""
    rng = np.random.default_rng(seed)
    day = rng.integers(0, 40, rows)
    shop = rng.choice(["a", "b", "c"], rows)
    size, noise = rng.normal(size=rows), rng.normal(size=rows)
    signal = size + (shop == "c") - (day >= 30) * noise + rng.normal(scale=0.7, size=rows)
    return pl.DataFrame(
        {
            "id": np.arange(rows),
            "day": [START + dt.timedelta(days=int(d)) for d in day],
            "shop": shop,
            "size": size,
            "noise": noise,
            "y": signal > 0,
        }
    )


def _rows(frame: pl.DataFrame, window: tuple) -> int:
    return frame.filter(pl.col("day").is_between(*window)).height


@pytest.fixture(scope="module")
def frame() -> pl.DataFrame:
    return _frame()


def test_the_window_runs_from_training_through_the_holdout_unless_it_cannot() -> None:
    assert refit_window(CFG, HOLDOUT, LINE) == WINDOW
    assert refit_window(CFG, ("2020-03-31", "2020-04-09"), LINE) == WINDOW  # run config strings
    assert refit_window(CFG, HOLDOUT, LINE, enabled=False) is None
    assert refit_window(CFG, ("", ""), LINE) is None  # no holdout: nothing newer to add
    split = dataclasses.replace(LINE, split=Split())
    assert refit_window(CFG, HOLDOUT, split) is None  # key buckets, not days


def test_trees_refit_on_every_row_with_scaled_trees_and_no_calibration(frame) -> None:  # noqa: ANN001
    fitted = train_gbdt(
        frame, CFG.train_window, CFG.val_window, GbdtConfig(num_threads=1), columns=COLUMNS
    )
    trial = Trial("gbdt", fitted, fitted.seconds)
    outcomes, record = refit_run(
        frame, CFG, WINDOW, HOLDOUT, LINE, {"training": trial, "baseline": trial}
    )
    refit = outcomes["refit"]
    assert outcomes["baseline_refit"] is refit  # the chosen trees are the baseline: refit once
    assert refit.train_rows == _rows(frame, WINDOW) > fitted.train_rows
    best = int(fitted.metrics["val/best_iteration"])
    assert record["trees"] == round(best * refit.train_rows / fitted.train_rows)
    assert refit.model.booster.current_iteration() == record["trees"]
    assert refit.preprocessor.calibration == IDENTITY != fitted.preprocessor.calibration
    assert record["window"] == ["2020-03-01", "2020-04-09"]
    assert record["folders"] == {"training": "refit", "baseline": "baseline_refit"}
    holdout = frame.filter(pl.col("day").is_between(*HOLDOUT))
    gated = models.predict_frame(fitted.model, fitted.preprocessor, holdout)
    served = models.predict_frame(refit.model, refit.preprocessor, holdout)
    assert not np.allclose(gated, served)  # another model: it learnt the holdout's days


def test_a_net_refits_for_its_best_epochs_serving_its_own_outputs(frame) -> None:  # noqa: ANN001
    fitted = train_model(frame, CFG, columns=COLUMNS)
    trees = train_gbdt(
        frame, CFG.train_window, CFG.val_window, GbdtConfig(num_threads=1), columns=COLUMNS
    )
    trials = {"training": Trial("mlp", fitted, 1.0, CFG), "baseline": Trial("gbdt", trees, 1.0)}
    outcomes, record = refit_run(frame, CFG, WINDOW, HOLDOUT, LINE, trials)
    refit = outcomes["refit"]
    assert refit.train_rows == _rows(frame, WINDOW)
    assert (
        record["epochs"] == int(fitted.metrics["best_epoch"]) and record["rows"] == refit.train_rows
    )
    assert refit.preprocessor.calibration == IDENTITY != fitted.preprocessor.calibration
    assert outcomes["baseline_refit"].train_rows == refit.train_rows  # the baseline too
    model = {"refit": record}
    assert served_folder(model, "training") == "refit"
    assert served_folder(model, "baseline") == "baseline_refit"
    assert served_folder({"refit": None}, "baseline") == "baseline"  # no refit: as gated
