"""Drift of the relations between columns: each numeric column's residual given the others.

A per-column test sees each marginal alone. A shift that keeps a column inside its reference
range but breaks its relation to the others (a thermometer reading 10 °F high while the dew point
and humidity still say otherwise) leaves every marginal ordinary, yet no reference row looks
like it. So each numeric column gets a model of it from the other watched columns (LightGBM,
fitted on the reference, cross-fitted by blocks of periods; its leaves are linear, so a new
window a little past the reference's range, a warmer week, is extrapolated rather than met by a
flat leaf, which would read as a broken relation), and its residual, the column less
what the others say it should be, is watched as one more column: scored as Evidently scores a
numeric column (normed Wasserstein distance) against the reference's out-of-fold residuals, and
judged by the same calibrated statistic (lib/drift_calibration.py). Only columns the others
explain (out-of-fold R^2 >= ``MIN_R2``) get one: an unexplained column's residual is a near copy
of its marginal, already watched. The reference's residuals are out of fold (each block of
periods predicted by the models that did not see it) and a new window's rows are spread over
the same fold models, so a window of the reference and a new window of the same world have
residuals of the same width.
"""

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial

import numpy as np
import polars as pl

from factory_assets.lib.drift import ColumnDrift, ColumnProfile, profile_column, wasserstein

FOLDS = 3  # blocks of periods (or of rows) the models are cross-fitted on
MIN_R2 = 0.5  # a relation explains at least half of its column's variance
MIN_ROWS = 1000  # a smaller reference is too thin to learn relations from
# rows each fold model learns from at most: drawn at random from its training blocks (a 90-day
# flights reference has ~80k rows; 20k fit its relations in a third of the time, R^2 alike)
FIT_ROWS = 20_000
# fold 0's model explaining none of its column (R^2 < 0 on its held-out block): not fitted further
# (flights, cancellations, delay_class: no column under 0 on fold 0 reached MIN_R2 on all folds;
# route_late_rate_28d went from 0.13 on fold 0 to 0.52, so the screen is no stricter)
SCREEN_R2 = 0.0
WORKERS = 2  # columns fitted at once (each LightGBM on one thread: the same models either way)
SKETCH = 1001  # quantiles kept of each reference residual (what a new window is scored against)
SUFFIX = "|others"  # a residual's name: "<column>|others"
PARAMS = {
    "objective": "l2",
    "num_leaves": 15,
    "learning_rate": 0.1,
    "min_data_in_leaf": 50,
    "verbose": -1,
    "num_threads": 1,
    "seed": 0,
    "deterministic": True,
    "linear_tree": True,
}
ROUNDS = 60


@dataclass(frozen=True)
class Relations:
    """Cross-fitted models of each explained numeric column from the others, and its residuals.

    ``models`` holds each target's boosters (LightGBM model strings), one per fold;
    ``sketches`` the quantiles of its out-of-fold reference residuals; ``stds`` their spread.
    """

    numerical: tuple[str, ...]
    categories: dict[str, tuple[str, ...]]  # each categorical input's values, in code order
    models: dict[str, tuple[str, ...]]
    sketches: dict[str, tuple[float, ...]]
    stds: dict[str, float]
    _boosters: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def names(self) -> list[str]:
        """The residuals' column names."""
        return [f"{t}{SUFFIX}" for t in self.models]

    def _booster(self, target: str, k: int):  # noqa: ANN202
        import lightgbm

        if (target, k) not in self._boosters:
            self._boosters[target, k] = lightgbm.Booster(model_str=self.models[target][k])
        return self._boosters[target, k]

    def residuals(self, frame: pl.DataFrame) -> dict[str, np.ndarray]:
        """Each target's residual on ``frame``'s rows, row i predicted by fold i mod FOLDS."""
        x = _matrix(frame, self.numerical, self.categories)
        fold = np.arange(frame.height) % FOLDS
        out = {}
        for target, boosters in self.models.items():
            j = self.numerical.index(target)
            inputs = np.delete(x, j, axis=1)
            predicted = np.zeros(frame.height)
            for k in range(len(boosters)):
                if (rows := fold == k).any():
                    predicted[rows] = self._booster(target, k).predict(inputs[rows])
            out[f"{target}{SUFFIX}"] = x[:, j] - predicted
        return out

    def drift(self, frame: pl.DataFrame) -> list[ColumnDrift]:
        """Each residual's normed Wasserstein distance to the reference's residual.

        Nothing is marked drifted: these scores feed the window statistic, not the drifted share.
        """
        results = []
        for name, values in self.residuals(frame).items():
            values = values[np.isfinite(values)]
            if values.size == 0:
                results.append(ColumnDrift(name, "empty", float("nan"), 0.0, False))
                continue
            target = name.removesuffix(SUFFIX)
            score = wasserstein(self.sketch(target), values) / max(self.stds[target], 1e-9)
            results.append(ColumnDrift(name, "residual_wasserstein", score, 0.0, False))
        return results

    def sketch(self, target: str) -> ColumnProfile:
        """The reference residual of ``target`` as a profile of its quantiles."""
        return profile_column(pl.Series(self.sketches[target], dtype=pl.Float64), True, 1)

    def to_dict(self) -> dict:
        """Plain data, for JSON."""
        keys = ("numerical", "categories", "models", "sketches", "stds")
        return {k: getattr(self, k) for k in keys}

    @classmethod
    def from_dict(cls, data: dict) -> "Relations":
        """The inverse of ``to_dict``."""
        return cls(
            tuple(data["numerical"]),
            {str(k): tuple(v) for k, v in data["categories"].items()},
            {str(k): tuple(v) for k, v in data["models"].items()},
            {str(k): tuple(float(x) for x in v) for k, v in data["sketches"].items()},
            {str(k): float(v) for k, v in data["stds"].items()},
        )


def _matrix(frame: pl.DataFrame, numerical, categories: dict) -> np.ndarray:  # noqa: ANN001
    """Numbers as floats, then each category as its code (NaN: null or unseen)."""
    codes = [
        frame[c]
        .cast(pl.String)
        .replace_strict(
            {v: float(i) for i, v in enumerate(values)}, default=None, return_dtype=pl.Float64
        )
        for c, values in categories.items()
    ]
    columns = [frame[c].cast(pl.Float64) for c in numerical] + codes
    return pl.DataFrame(columns).fill_nan(None).to_numpy().astype(float)


def _folds(period_of_row: pl.Series | None, rows: int, rng: np.random.Generator) -> np.ndarray:
    """Each reference row's fold: consecutive blocks of periods, or random rows without periods."""
    if period_of_row is None:
        return rng.permutation(np.arange(rows) % FOLDS)
    labels = period_of_row.cast(pl.String).fill_null("").to_numpy()
    _, inverse = np.unique(labels, return_inverse=True)
    return inverse * FOLDS // (inverse.max() + 1)


def _fit_target(x: np.ndarray, fold: np.ndarray, sampled: np.ndarray, numbers: int, j: int):  # noqa: ANN202
    """(Boosters, out-of-fold residual) of column ``j`` given the others; None if unexplained.

    ``x`` holds ``numbers`` numeric columns, then the categorical ones (codes).

    Fold 0 screens: a column its model does not explain at all (``SCREEN_R2``) skips the other
    folds (a third of the flights' inputs).
    """
    import lightgbm

    y, inputs = x[:, j], np.delete(x, j, axis=1)
    known = np.isfinite(y)
    if known.sum() < MIN_ROWS or np.nanstd(y) == 0:
        return None
    categorical = list(range(numbers - 1, inputs.shape[1]))  # inputs less the target
    residual, boosters, spread = np.full(y.size, np.nan), [], np.nanvar(y)
    for k in range(FOLDS):
        train = known & (fold != k) & sampled
        data = lightgbm.Dataset(
            inputs[train], y[train], categorical_feature=categorical, params={"verbose": -1}
        )
        booster = lightgbm.train(PARAMS, data, num_boost_round=ROUNDS)
        rows = known & (fold == k)
        residual[rows] = y[rows] - booster.predict(inputs[rows])
        boosters.append(booster.model_to_string())
        if k == 0 and rows.any() and 1 - np.var(residual[rows]) / spread < SCREEN_R2:
            return None
    if 1 - np.nanvar(residual) / spread < MIN_R2:
        return None
    return tuple(boosters), residual


def _sample(rows: int, rng: np.random.Generator) -> np.ndarray:
    """Which rows the fold models may learn from: all, or ``FIT_ROWS * FOLDS / (FOLDS - 1)``.

    So that each fold's training rows (the other folds') number about ``FIT_ROWS``.
    """
    keep = FIT_ROWS * FOLDS // (FOLDS - 1)
    if rows <= keep:
        return np.ones(rows, dtype=bool)
    mask = np.zeros(rows, dtype=bool)
    mask[rng.choice(rows, keep, replace=False)] = True
    return mask


def fit_relations(
    reference: pl.DataFrame,
    numerical: list[str],
    categorical: list[str],
    period_of_row: pl.Series | None,
    seed: int = 0,
) -> tuple[Relations | None, dict[str, np.ndarray]]:
    """(The relations of ``reference``, its out-of-fold residuals), or (None, {}) with none.

    Each fold model learns from at most about ``FIT_ROWS`` of its training rows; every reference
    row gets its out-of-fold residual all the same.

    Args:
        reference: the reference rows.
        numerical: numeric columns, each a target and an input of the others' models.
        categorical: categorical columns, inputs only.
        period_of_row: each row's period (folds are blocks of them); None: random folds.
        seed: the folds' seed without periods.
    """
    if reference.height < MIN_ROWS or len(numerical) + len(categorical) < 2 or not numerical:
        return None, {}
    categories = {
        c: tuple(reference[c].drop_nulls().cast(pl.String).unique().sort().to_list())
        for c in categorical
    }
    x = _matrix(reference, numerical, categories)
    rng = np.random.default_rng(seed)
    fold = _folds(period_of_row, reference.height, rng)
    sampled = _sample(reference.height, rng)
    fits = partial(_fit_target, x, fold, sampled, len(numerical))
    with ThreadPoolExecutor(max_workers=min(WORKERS, len(numerical))) as pool:
        fitted = list(pool.map(fits, range(len(numerical))))  # LightGBM releases the GIL
    models, sketches, stds, residuals = {}, {}, {}, {}
    for target, found in zip(numerical, fitted, strict=True):
        if found is None:
            continue
        models[target], residual = found
        finite = residual[np.isfinite(residual)]
        sketches[target] = tuple(np.quantile(finite, np.linspace(0, 1, SKETCH)).tolist())
        stds[target] = float(np.std(finite))
        residuals[f"{target}{SUFFIX}"] = residual
    if not models:
        return None, {}
    return Relations(tuple(numerical), categories, models, sketches, stds), residuals
