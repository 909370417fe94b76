"""The fast path's arrays: per-snapshot feature tables and the feature rows of a request.

``Table`` holds what ``assemble_features`` gives over one grid of keys, as float64 values with
a validity mask; ``FeatureBlock`` the rows of a batch of requests gathered from those tables.
"""

import datetime as dt
from dataclasses import dataclass

import numpy as np
import polars as pl


@dataclass(frozen=True)
class Table:
    """Outputs of ``assemble_features`` over one grid: float64 values, 0 where null.

    The last row stands for keys the grid does not hold (what the Polars path gives them).
    """

    columns: tuple[str, ...]
    values: np.ndarray  # float64 [keys + 1, columns]
    valid: np.ndarray  # bool, same shape: False where the feature is null
    rows: list[tuple[float, ...]]  # ``values`` as tuples: joined per row for small batches
    known: list[tuple[bool, ...]]  # ``valid`` as tuples

    @classmethod
    def of(cls, frame: pl.DataFrame, columns: list[str]) -> "Table":
        """The ``columns`` of ``frame`` (numeric), nulls noted in ``valid``."""
        part = frame.select(columns)
        valid = part.select(pl.all().is_not_null())
        values = part.select(pl.all().cast(pl.Float64).fill_null(0.0))
        return cls(
            tuple(columns),
            np.ascontiguousarray(values.to_numpy(), dtype=np.float64),
            np.ascontiguousarray(valid.to_numpy(), dtype=bool),
            values.rows(),
            valid.rows(),
        )

    @property
    def missing(self) -> int:
        """Index of the row for an unknown key."""
        return len(self.values) - 1


@dataclass(frozen=True)
class FeatureBlock:
    """Feature rows of a batch of requests as arrays: what ``features`` gives, without Polars.

    ``ids`` and ``dates`` hold each row's key and date, ``index`` their columns' names in the
    feature table; ``values`` and ``valid`` the numeric features (``columns``, in the order of
    the feature table's columns); ``labels`` the string ones. ``frame()`` is the same rows as
    the Polars path's DataFrame (for the shadow log and the tests).
    """

    ids: list
    dates: list[dt.date]
    labels: dict[str, list[str]]
    columns: tuple[str, ...]
    values: np.ndarray  # float64 [rows, columns], 0 where null
    valid: np.ndarray  # bool [rows, columns]
    schema: pl.Schema  # of the feature table's rows (empty: the block has no ``frame()``)
    index: tuple[str, ...] = ()  # the key's and the date's column in ``schema``

    @property
    def height(self) -> int:
        """Number of rows."""
        return len(self.ids)

    def frame(self) -> pl.DataFrame:
        """The rows as a DataFrame, with the columns and types of ``OnlineFeatures.features``."""
        given: dict[str, list] = dict(zip(self.index, (self.ids, self.dates), strict=False))
        given |= self.labels
        for j, column in enumerate(self.columns):
            values, valid = self.values[:, j].tolist(), self.valid[:, j].tolist()
            given[column] = [v if ok else None for v, ok in zip(values, valid, strict=True)]
        loose = {c: (pl.Float64 if c in self.columns else t) for c, t in self.schema.items()}
        frame = pl.DataFrame({c: given[c] for c in self.schema}, schema=loose)
        return frame.cast(dict(self.schema))
