"""Per-column drift of a day's features against a fixed reference, at a cost flat in history.

The verdicts are Evidently's own (legacy stattests behind ``DataDriftPreset`` for a reference of
more than 1,000 rows): normed Wasserstein distance for numeric columns with more than 5 distinct
values, Jensen-Shannon distance otherwise, both drifting at ``score >= 0.1``. What differs is the
work per check. The reference is summarised once (sorted values with prefix sums, value counts),
so a day of m rows costs O(m log n) against a reference of n rows, where Evidently re-reads and
re-sorts the whole reference and renders plots on every call. The Wasserstein distance is exact:
on each interval where the day's CDF is constant, the integral of |F_ref - G| comes from two
prefix-sum lookups around the point where F_ref crosses that constant.
"""

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl

from factory_assets.lib.files import write_atomic

THRESHOLD = 0.1  # Evidently's default for both methods
MIN_REFERENCE_ROWS = 1001  # at or below 1,000 rows Evidently switches to K-S / chi-square tests


@dataclass(frozen=True)
class ColumnDrift:
    """One column's drift verdict."""

    column: str
    method: str
    score: float
    threshold: float
    drifted: bool


@dataclass
class ColumnProfile:
    """What a drift check needs of one reference column."""

    numeric: bool
    values: np.ndarray  # distinct non-null values, sorted
    counts: np.ndarray  # rows per distinct value
    ordered: np.ndarray = field(default_factory=lambda: np.zeros(0))  # numeric: all, sorted
    prefix: np.ndarray = field(default_factory=lambda: np.zeros(1))  # its cumsum, 0 first
    std: float = 0.0

    @property
    def rows(self) -> int:
        """Non-null reference rows."""
        return int(self.counts.sum())


def _clean(series: pl.Series, numeric: bool) -> np.ndarray:
    if numeric:
        values = series.cast(pl.Float64).to_numpy()
        return values[np.isfinite(values)]
    return series.drop_nulls().cast(pl.String).to_numpy()


def usable_rows(series: pl.Series, numeric: bool) -> int:
    """Rows of ``series`` a drift check uses (not null; numbers also finite)."""
    return int(_clean(series, numeric).size)


def profile_column(
    series: pl.Series, numeric: bool, min_rows: int = MIN_REFERENCE_ROWS
) -> ColumnProfile:
    """Summarise one reference column (nulls and infinities dropped, as Evidently does).

    ``min_rows``: fewer usable rows are refused (Evidently judges those by tests, not scores;
    a calibration's statistic may still use the scores of a smaller reference).
    """
    values = _clean(series, numeric)
    if values.size < max(min_rows, 1):
        raise ValueError(
            f"reference column {series.name!r} has {values.size} usable rows; drift checks need "
            f"at least {max(min_rows, 1)} (Evidently uses other tests below {MIN_REFERENCE_ROWS})"
        )
    if not numeric:  # counted by Polars: np.unique on Python strings costs ~1 s a column
        table = series.drop_nulls().cast(pl.String).alias("v").value_counts(name="n").sort("v")
        return ColumnProfile(False, table["v"].to_numpy(), table["n"].to_numpy())
    distinct, counts = np.unique(values, return_counts=True)
    ordered = np.sort(values)
    prefix = np.concatenate([[0.0], np.cumsum(ordered)])
    return ColumnProfile(True, distinct, counts, ordered, prefix, float(np.std(ordered)))


@dataclass
class ReferenceProfile:
    """A reference data set summarised per column, built once per champion."""

    columns: dict[str, ColumnProfile]

    @classmethod
    def from_frame(
        cls,
        frame: pl.DataFrame,
        numerical: list[str],
        categorical: list[str],
        min_rows: int = MIN_REFERENCE_ROWS,
    ) -> "ReferenceProfile":
        """Profile ``numerical`` and ``categorical`` columns of ``frame``."""
        profiles = {c: profile_column(frame[c], True, min_rows) for c in numerical}
        profiles |= {c: profile_column(frame[c], False, min_rows) for c in categorical}
        return cls(profiles)

    def drift(self, current: pl.DataFrame, threshold: float = THRESHOLD) -> list[ColumnDrift]:
        """One verdict per profiled column for the rows of ``current``."""
        return [column_drift(name, p, current[name], threshold) for name, p in self.columns.items()]


def _integral(prefix: np.ndarray, a: np.ndarray, b: np.ndarray, ka, kb) -> np.ndarray:  # noqa: ANN001
    """Integral of the reference CDF over [a, b] (vectorised; a <= b).

    ``ka``, ``kb``: how many reference values are <= a and <= b (``prefix`` has one more entry).
    """
    return (ka * (b - a) + (kb - ka) * b - (prefix[kb] - prefix[ka])) / (prefix.size - 1)


def wasserstein(profile: ColumnProfile, current: np.ndarray) -> float:
    """Exact 1-Wasserstein distance between the reference and ``current`` (non-empty)."""
    ordered, prefix = profile.ordered, profile.prefix
    xs, counts = np.unique(current, return_counts=True)
    cum = np.cumsum(counts)
    n, m = ordered.size, int(cum[-1])
    lo, hi = min(ordered[0], xs[0]), max(ordered[-1], xs[-1])
    a = np.concatenate([[lo], xs])
    b = np.concatenate([xs, [hi]])
    cum = np.concatenate([[0], cum])
    g = cum / m
    # F_ref(x) >= g  <=>  #ref <= x is at least t = ceil(g n)  <=>  x >= ordered[t - 1]
    t = -(-cum * n // m)
    cross = np.where(t > 0, ordered[np.clip(t - 1, 0, n - 1)], -np.inf)
    mid = np.clip(cross, a, b)
    # reference values <= each bound: a is [lo, xs], b is [xs, hi] (hi >= every value)
    at_x = np.searchsorted(ordered, xs, side="right")
    ka = np.concatenate([[np.searchsorted(ordered, lo, side="right")], at_x])
    kb = np.concatenate([at_x, [n]])
    km = np.searchsorted(ordered, mid, side="right")
    below = g * (mid - a) - _integral(prefix, a, mid, ka, km)
    above = _integral(prefix, mid, b, km, kb) - g * (b - mid)
    return float(np.sum(below + above))


def _jensenshannon(profile: ColumnProfile, current: np.ndarray) -> float:
    from scipy.spatial import distance

    keys, cur_counts = np.unique(current, return_counts=True)
    union = np.union1d(profile.values, keys)
    ref = np.zeros(union.size)
    ref[np.searchsorted(union, profile.values)] = profile.counts
    cur = np.zeros(union.size)
    cur[np.searchsorted(union, keys)] = cur_counts
    return float(distance.jensenshannon(ref / ref.sum(), cur / cur.sum()))


def column_drift(
    name: str, profile: ColumnProfile, series: pl.Series, threshold: float = THRESHOLD
) -> ColumnDrift:
    """Evidently's default verdict for one column, from the reference profile."""
    current = _clean(series, profile.numeric)
    if current.size == 0:
        return ColumnDrift(name, "empty", float("nan"), threshold, False)
    if profile.numeric:
        new = np.setdiff1d(np.unique(current), profile.values, assume_unique=True).size
        if profile.values.size + new > 5:
            score = wasserstein(profile, current) / max(profile.std, 0.001)
            return ColumnDrift(name, "wasserstein", score, threshold, score >= threshold)
    score = _jensenshannon(profile, current)
    return ColumnDrift(name, "jensenshannon", score, threshold, score >= threshold)


def drift_table(results: list[ColumnDrift]) -> pl.DataFrame:
    """The verdicts as a table (one row per column)."""
    return pl.DataFrame(
        {
            "column_name": [r.column for r in results],
            "method": [r.method for r in results],
            "score": [r.score for r in results],
            "threshold": [r.threshold for r in results],
            "drifted": [r.drifted for r in results],
        },
        schema={
            "column_name": pl.String,
            "method": pl.String,
            "score": pl.Float64,
            "threshold": pl.Float64,
            "drifted": pl.Boolean,
        },
    )


def drifted_share(results: list[ColumnDrift]) -> float:
    """Share of checked (non-empty) columns that drifted, as Evidently's DriftedColumnsCount."""
    checked = [r for r in results if r.method != "empty"]
    return sum(r.drifted for r in checked) / len(checked) if checked else 0.0


def evidently_dataset(frame: pl.DataFrame, numerical: list[str], categorical: list[str]):
    """``frame``'s columns as an Evidently Dataset, numeric ones cast to float.

    Returns:
        An ``evidently.Dataset`` (evidently is imported lazily, so the type is not named here).
    """
    from evidently import DataDefinition, Dataset

    definition = DataDefinition(numerical_columns=numerical, categorical_columns=categorical)
    pandas = frame.select(*[pl.col(c).cast(pl.Float64) for c in numerical], *categorical)
    return Dataset.from_pandas(pandas.to_pandas(), data_definition=definition)


def evidently_drift(
    reference: pl.DataFrame, current: pl.DataFrame, numerical: list[str], categorical: list[str]
) -> list[ColumnDrift]:
    """Evidently's own per-column verdicts (its ``ValueDrift`` metric), computed by Evidently.

    For a reference too small to profile (at most 1,000 rows, e.g. a data set without a time
    axis): there Evidently judges by statistical tests (K-S for numbers, chi-square or Z-test
    for categories; drifted when the p-value is under 0.05), used here as Evidently computes
    them rather than re-implemented. A column empty on either side is ``empty``, not judged.
    """
    from evidently import Report
    from evidently.metrics import ValueDrift

    wanted = numerical + categorical
    usable = [
        c for c in wanted if reference[c].drop_nulls().len() and current[c].drop_nulls().len()
    ]
    numerical = [c for c in numerical if c in usable]
    categorical = [c for c in categorical if c in usable]
    metrics = [ValueDrift(column=c) for c in usable]
    snapshot = (
        Report(metrics).run(
            evidently_dataset(current, numerical, categorical),
            evidently_dataset(reference, numerical, categorical),
        )
        if usable
        else None
    )
    results = {}
    for result in snapshot.dict()["metrics"] if snapshot else []:
        column, method = result["config"]["column"], result["config"]["method"]
        value, threshold = float(result["value"]), float(result["config"]["threshold"])
        # a p-value drifts below its threshold, a distance at or above it
        drifted = value < threshold if "p_value" in method else value >= threshold
        results[column] = ColumnDrift(column, method, value, threshold, drifted)
    empty = ColumnDrift("", "empty", float("nan"), 0.0, False)
    return [results.get(c) or dataclasses.replace(empty, column=c) for c in wanted]


def write_evidently_report(
    reference: pl.DataFrame,
    current: pl.DataFrame,
    numerical: list[str],
    categorical: list[str],
    path: Path,
) -> Path:
    """Evidently's DataDriftPreset report of ``current`` against ``reference``, as HTML.

    Written to a temporary name and renamed, so a reader never opens half a report.
    """
    from evidently import Report
    from evidently.presets import DataDriftPreset

    # Evidently refuses a column that is empty on either side (a day without wind gusts)
    usable = [
        c
        for c in numerical + categorical
        if reference[c].drop_nulls().len() and current[c].drop_nulls().len()
    ]
    numerical = [c for c in numerical if c in usable]
    categorical = [c for c in categorical if c in usable]
    snapshot = Report([DataDriftPreset()]).run(
        evidently_dataset(current, numerical, categorical),
        evidently_dataset(reference, numerical, categorical),
    )
    write_atomic(path, snapshot.get_html_str(as_iframe=False).encode())  # as save_html writes
    return path
