"""Breast-cancer screenings laid out as a lab would send them: one file per batch, no dates.

The data is the Breast Cancer Wisconsin (Diagnostic) data set (UCI, CC BY 4.0; Street, Wolberg
and Mangasarian, 1993) as scikit-learn ships it inside its wheel (``load_breast_cancer`` reads
the package's own CSV, no network): 569 fine-needle aspirates of breast masses, 30 measurements
of the imaged cell nuclei each, and the diagnosis the biopsy confirmed. The samples carry no
date, so the dataset has no time axis: it lands in batches.

- ``screenings/batch_{batch}.csv``, batches ``01`` … ``06`` of 94 or 95 samples: a seeded
  shuffle of the data set cut in six, so every batch is alike. Columns: ``screening_id``
  (``s0000`` … ``s0568``, the row of the data set: a key that never changes), the ten ``mean_*``
  measurements (snake_case of scikit-learn's names) and ``diagnosis`` (``malignant`` or
  ``benign``), which arrives with its sample.

Files are written whole or not at all (lib/files.py's write_atomic).
"""

from collections.abc import Iterable
from functools import cache
from pathlib import Path

import numpy as np
import polars as pl

from factory_assets.lib.files import write_atomic

PATH = "screenings/batch_{batch}.csv"
BATCHES = 6
SEED = 7  # the shuffle that deals the samples into batches
MEASUREMENTS = (
    "mean radius", "mean texture", "mean perimeter", "mean area", "mean smoothness",
    "mean compactness", "mean concavity", "mean concave points", "mean symmetry",
    "mean fractal dimension",
)  # fmt: skip


def batch_key(number: int) -> str:
    """The key of batch ``number`` (1-based): two digits, so keys sort as the batches came."""
    return f"{number:02d}"


@cache
def screenings_frame() -> pl.DataFrame:
    """Every sample with its key, measurements, diagnosis and batch, in key order."""
    from sklearn.datasets import load_breast_cancer  # imported only where the example runs

    data = load_breast_cancer(as_frame=True).frame
    frame = pl.from_pandas(data[[*MEASUREMENTS, "target"]])
    rank = np.empty(frame.height, dtype=np.int64)
    rank[np.random.default_rng(SEED).permutation(frame.height)] = np.arange(frame.height)
    return frame.select(
        pl.format("s{}", pl.int_range(pl.len()).cast(pl.String).str.zfill(4)).alias("screening_id"),
        *(pl.col(m).alias(m.replace(" ", "_")) for m in MEASUREMENTS),
        # scikit-learn's target: 0 malignant, 1 benign
        pl.when(pl.col("target") == 0)
        .then(pl.lit("malignant"))
        .otherwise(pl.lit("benign"))
        .alias("diagnosis"),
        pl.Series("batch", rank * BATCHES // frame.height + 1),
    )


def lay_out_screenings(landing_dir: Path, batches: Iterable[int] | None = None) -> dict:
    """Write the files of ``batches`` (numbers 1 … 6; default all) below ``landing_dir``.

    Returns:
        Files written: ``{"screenings": n}``.

    Raises:
        ValueError: a batch number outside 1 … 6.

    """
    numbers = sorted(set(range(1, BATCHES + 1) if batches is None else batches))
    if not numbers or numbers[0] < 1 or numbers[-1] > BATCHES:
        raise ValueError(f"batches {numbers}; allowed: 1 … {BATCHES}")
    frame = screenings_frame()
    for number in numbers:
        rows = frame.filter(pl.col("batch") == number).drop("batch")
        path = landing_dir / PATH.format(batch=batch_key(number))
        write_atomic(path, rows.write_csv().encode())
    return {"screenings": len(numbers)}
