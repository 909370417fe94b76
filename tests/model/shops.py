"""A synthetic shop frame for every task, shared by the tree and blend tests.

The label follows the shop and the size (a regression label in thousands, to test relative
parity); some sizes are null.
"""

import datetime as dt

import numpy as np
import polars as pl

from factory_assets.lib.tasks import Task
from factory_assets.lib.training.dataset import ModelColumns

CLASSES = ("low", "mid", "high")
TASKS = {
    "binary": Task("binary"),
    "regression": Task("regression"),
    "multiclass": Task("multiclass", CLASSES),
}
COLUMNS = ModelColumns("id", "day", "y", ("shop",), ("size", "noise"))
START = dt.date(2020, 3, 1)


def shop_frame(kind: str, rows: int = 3000, seed: int = 1, days: int = 30) -> pl.DataFrame:
    """``rows`` over ``days`` days from START, labelled for ``kind`` (a key of TASKS)."""
    rng = np.random.default_rng(seed)
    shop = rng.choice(["a", "b", "c", "d"], rows)
    size = rng.normal(size=rows)
    signal = size + (shop == "c") * 1.5 - (shop == "a") + rng.normal(scale=0.6, size=rows)
    labels = {
        "binary": signal > 0.2,
        "regression": 2000.0 + 300.0 * signal,  # label units in thousands: relative parity
        "multiclass": np.asarray(CLASSES)[np.digitize(signal, [-0.5, 0.8])],
    }[kind]
    return pl.DataFrame(
        {
            "id": np.arange(rows),
            "day": [START + dt.timedelta(days=int(d)) for d in rng.integers(0, days, rows)],
            "shop": shop,
            "size": pl.Series(size).scatter(np.flatnonzero(rng.random(rows) < 0.05), None),
            "noise": rng.normal(size=rows),
            "y": labels,
        }
    )
