"""A drift threshold calibrated on the reference itself: how drifted do its own windows look?

The statistic is the window's largest standardised per-column drift score: each column's score
(Evidently's normed Wasserstein or Jensen-Shannon distance, as ``ReferenceProfile.drift``
computes them) as log(score / its median on reference windows of the same size), divided by
the spread (standard deviation) of that log on them. Continuous, so its (1 - alpha) quantile is
a real threshold (the drifted share of ten columns moves in steps of a tenth and sits at 0.6 on
an ordinary day of flights); a shift of one input is not diluted by the many that did not move,
as a mean would be; and each column counts by its own null's spread, so a column whose
reference windows wander widely (a residual set by a few rows, a 28-day rate) does not raise the
threshold every other column is held to, as it would were scores only divided by their
medians. The null of the maximum is computed jointly over the columns, so alpha is the
false-alarm rate of the whole check, not of each column, whatever the per-column scaling.
The columns include, with
``relate``, each numeric input's residual given the others (lib/drift_relations.py): a shift that
breaks the relation between inputs (+10 °F on the thermometer, the dew point unchanged) is
ordinary for every marginal of a winter of weather, and far out for the residual. The null
comes from windows of the same number of periods cut from the reference: every run of
consecutive periods (wrapping around; periods hold weather spells and weekly rhythm that iid
rows would hide), topped up with random sets of periods to at least ``DRAWS``. Without periods
in the reference (no time axis, no batches), random row sets of the window's size are drawn.
Each window is scored against the rest of the reference, as a new window is against a
reference it is not in: exactly, from the profile (the normed Wasserstein distance to a mixture
that holds a share f of the window is (1 - f) times that to the rest; Jensen-Shannon from the
counts less the window's). It depends only on the reference and the window, so it is computed
once per model version and window.
"""

import json
import math
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from factory_assets.lib.drift import ColumnDrift, ReferenceProfile, profile_column, wasserstein
from factory_assets.lib.drift_relations import Relations, fit_relations
from factory_assets.lib.files import write_atomic

DRAWS = 200  # null windows at least: the 0.99 quantile needs more than 100
QUANTILES = (0.5, 0.9, 0.95, 0.99)
MIN_SCALE = 1e-6  # a column that never moves on reference windows (a constant)
MIN_SPREAD = 0.05  # of a log score: windows that all score alike (a constant column)


@dataclass(frozen=True)
class Calibration:
    """The null distribution of the window statistic on a reference (sorted draws).

    ``scales`` holds each column's median score on the reference's windows, ``spreads`` the
    standard deviation of log(score / scale) on them; ``null`` the statistic of each reference
    window; ``relations`` the
    models whose residuals are watched beside the columns (None: marginals only).
    """

    periods: int  # the window's periods (0: a window of ``rows`` iid rows)
    rows: int
    scales: dict[str, float]
    spreads: dict[str, float]
    null: tuple[float, ...]
    relations: Relations | None = None

    def residual_scores(self, current: pl.DataFrame) -> list[ColumnDrift]:
        """The window's residuals' scores ([] without relations)."""
        return self.relations.drift(current) if self.relations else []

    def scores(self, profile: ReferenceProfile, current: pl.DataFrame) -> list[ColumnDrift]:
        """The window's per-column scores and, with relations, its residuals' scores."""
        return profile.drift(current) + self.residual_scores(current)

    def statistic(self, results: list[ColumnDrift]) -> tuple[float, str]:
        """(The window statistic, the column that sets it) of a window's per-column verdicts.

        The largest standardised log score; 0 and "" with no checked column.
        """
        relative = {
            r.column: _standardised(r.score, self.scales[r.column], self.spreads[r.column])
            for r in results
            if r.method != "empty" and math.isfinite(r.score) and r.column in self.scales
        }
        if not relative:
            return 0.0, ""
        column = max(relative, key=relative.get)
        return float(relative[column]), column

    def threshold(self, alpha: float) -> float:
        """The (1 - alpha) quantile of the null: the alarm fires above it."""
        return float(np.quantile(self.null, 1 - alpha, method="higher"))

    def quantiles(self) -> dict[str, float]:
        """A few quantiles of the null, for the check's metadata."""
        return {f"null_q{round(q * 100)}": float(np.quantile(self.null, q)) for q in QUANTILES}

    def save(self, path: Path, with_relations: bool = True) -> None:
        """Write as JSON, whole or not at all.

        ``with_relations=False``: the relations' models are kept elsewhere (a champion's
        relations file, lib/drift_window.py), so the file holds none and ``load`` answers
        without them (the models are most of its size: ~5.5 MB with ten watched relations).
        """
        data = {k: getattr(self, k) for k in ("periods", "rows", "scales", "spreads", "null")}
        kept = self.relations if with_relations else None
        data["relations"] = kept.to_dict() if kept else None
        write_atomic(path, json.dumps(data).encode())

    @classmethod
    def load(cls, path: Path) -> "Calibration | None":
        """A saved calibration, or None when there is none (or it is unreadable)."""
        try:
            data = json.loads(path.read_text())
            scales = {str(k): float(v) for k, v in data["scales"].items()}
            spreads = {str(k): float(v) for k, v in data["spreads"].items()}
            relations = data.get("relations") and Relations.from_dict(data["relations"])
            null = tuple(data["null"])
            periods, rows = int(data["periods"]), int(data["rows"])
            return cls(periods, rows, scales, spreads, null, relations or None)
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return None


def _standardised(score, scale, spread):  # noqa: ANN001, ANN202 (floats or arrays)
    """log(score / scale) / spread: a column's score against its null (NaN stays NaN)."""
    return np.log(np.maximum(score, MIN_SCALE) / np.maximum(scale, MIN_SCALE)) / spread


def _codes(profile, series: pl.Series) -> np.ndarray:  # noqa: ANN001
    """The reference column as numbers (numeric) or indices into its profile's values (-1 null)."""
    if profile.numeric:
        return series.cast(pl.Float64).fill_null(np.nan).to_numpy()
    keys = series.cast(pl.String).to_numpy()
    index = {v: i for i, v in enumerate(profile.values)}
    return np.array([index.get(v, -1) if v is not None else -1 for v in keys], dtype=np.int64)


def _held_out_score(profile, column: np.ndarray) -> float:  # noqa: ANN001
    """One column of a reference window scored against the rest of the reference."""
    from scipy.spatial import distance

    if profile.numeric:
        values = column[np.isfinite(column)]
        if values.size == 0 or values.size >= profile.rows:
            return float("nan")
        if profile.values.size > 5:
            share = values.size / profile.rows
            return wasserstein(profile, values) / max(profile.std, 0.001) / (1 - share)
        index = np.searchsorted(profile.values, values)
    else:
        index = column[column >= 0]
        if index.size == 0 or index.size >= profile.rows:
            return float("nan")
    window = np.bincount(index, minlength=profile.values.size).astype(float)
    rest = profile.counts - window
    return float(distance.jensenshannon(rest / rest.sum(), window / window.sum()))


def _windows(groups: list[np.ndarray], periods: int, rng: np.random.Generator) -> list:
    """Row indices of each null window: consecutive runs of periods, topped up at random."""
    n = len(groups)
    runs = [[(start + i) % n for i in range(periods)] for start in range(n)]
    while len(runs) < DRAWS:
        runs.append(sorted(rng.choice(n, size=periods, replace=False)))
    return [np.concatenate([groups[i] for i in run]) for run in runs]


def calibrate(
    profile: ReferenceProfile,
    reference: pl.DataFrame,
    period_of_row: pl.Series | None,
    periods: int,
    rows: int,
    seed: int = 0,
    relate: tuple[list[str], list[str]] | None = None,
    fitted: tuple[Relations | None, dict[str, np.ndarray]] | None = None,
) -> Calibration:
    """The null of the window statistic for windows of ``periods`` periods (or ``rows`` rows).

    Args:
        profile: the reference's profile (the columns judged).
        reference: the reference rows the profile was built from.
        period_of_row: each reference row's period (or batch); None: iid rows.
        periods: periods in the judged window; windows of as many reference periods are drawn
            (of ``rows`` iid rows when the reference has no periods or too few of them).
        rows: rows of the judged window.
        seed: the random top-up's seed.
        relate: (numerical, categorical) inputs whose relations are watched as well (numeric
            ones as residuals given all the others); None: the profile's columns only.
        fitted: ``fit_relations``'s answer for ``relate`` when already at hand (it depends on
            the reference alone, not on the window, so a model fits it once for every window).
    """
    rng = np.random.default_rng(seed)
    columns = {name: _codes(p, reference[name]) for name, p in profile.columns.items()}
    relations, residuals = fitted or (None, {})
    if relate and fitted is None:
        relations, residuals = fit_relations(reference, *relate, period_of_row, seed)
    profiles = dict(profile.columns)
    for name, values in residuals.items():
        profiles[name] = profile_column(pl.Series(name, values), True, 1)
        columns[name] = values
    groups = []
    if period_of_row is not None:
        labels = period_of_row.cast(pl.String).fill_null("").to_numpy()
        _, inverse = np.unique(labels, return_inverse=True)
        groups = [np.flatnonzero(inverse == g) for g in range(inverse.max() + 1)]
    if len(groups) > periods > 0:
        windows = _windows(groups, periods, rng)
    else:
        size = min(rows, reference.height // 2)
        windows = [rng.choice(reference.height, size, replace=False) for _ in range(DRAWS)]
        periods = 0
    names = list(profiles)
    scores = np.array(
        [[_held_out_score(profiles[n], columns[n][idx]) for n in names] for idx in windows]
    )
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a column empty in every window
        medians = np.nanmedian(scores, axis=0) if scores.size else np.zeros(len(names))
    scales = {n: float(m) if math.isfinite(m) else 0.0 for n, m in zip(names, medians, strict=True)}
    scale = np.array([scales[n] for n in names])
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        spread = np.nanstd(_standardised(scores, scale, 1.0), axis=0) if scores.size else scale
    spread = np.where(np.isfinite(spread), np.maximum(spread, MIN_SPREAD), MIN_SPREAD)
    spreads = {n: float(v) for n, v in zip(names, spread, strict=True)}
    relative = _standardised(scores, scale, spread) if scores.size else scores
    relative = np.where(np.isnan(relative), -np.inf, relative)  # a column empty in a window
    null = relative.max(axis=1) if relative.size else np.zeros(len(windows))
    null = np.where(np.isfinite(null), null, 0.0)
    return Calibration(
        periods, rows, scales, spreads, tuple(sorted(float(v) for v in null)), relations
    )
