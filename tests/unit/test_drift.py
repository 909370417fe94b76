"""Drift verdicts from a reference profile: exact Wasserstein, Evidently's own verdicts and limits.

The Evidently comparison runs the real ``DataDriftPreset`` once on a 2,000-row reference (module
fixture), so the whole file takes seconds.
"""

import math

import numpy as np
import polars as pl
import pytest
from scipy import stats

from factory_assets.lib.drift import (
    MIN_REFERENCE_ROWS,
    ReferenceProfile,
    drift_table,
    drifted_share,
    evidently_dataset,
    profile_column,
    wasserstein,
)

N = 2000


def _wasserstein_cases():
    rng = np.random.default_rng(7)
    normal = rng.normal(0, 1, N)
    ints = rng.integers(0, 5, N).astype(float)  # heavy ties
    return {
        "normal_vs_shifted": (normal, rng.normal(0.4, 1.5, 700)),
        "normal_vs_itself": (normal, normal[:900]),
        "ties_vs_ties": (ints, rng.integers(1, 8, 500).astype(float)),
        "ties_vs_continuous": (ints, rng.uniform(-1, 6, 300)),
        "continuous_vs_ties": (normal, np.repeat([-1.0, 0.0, 0.5], [3, 10, 4])),
        "current_outside_reference": (normal, rng.normal(10, 1, 50)),
        "single_current_value": (ints, np.array([2.0])),
        "skewed_with_repeats": (np.round(rng.exponential(2, N), 1), np.round(rng.gamma(2, 2, 400))),
    }


@pytest.mark.parametrize(
    ("reference", "current"), _wasserstein_cases().values(), ids=list(_wasserstein_cases())
)
def test_wasserstein_equals_scipy(reference, current):
    profile = profile_column(pl.Series("x", reference), numeric=True)
    expected = stats.wasserstein_distance(reference, current)
    assert wasserstein(profile, current) == pytest.approx(expected, rel=1e-10, abs=1e-12)


def _frames() -> tuple[pl.DataFrame, pl.DataFrame]:
    """Reference and current with every branch of the default method choice."""
    rng = np.random.default_rng(13)

    def with_nulls(values: np.ndarray, share: float) -> list:
        return [None if rng.random() < share else float(v) for v in values]

    m = 600
    reference = pl.DataFrame(
        {
            "shifted": rng.normal(0, 1, N),  # Wasserstein, drifts
            "steady": rng.normal(5, 2, N),  # Wasserstein, does not drift
            "few": with_nulls(rng.choice([1, 2, 3], N, p=[0.5, 0.3, 0.2]), 0.1),  # <= 5 values: JS
            "few_then_many": rng.integers(1, 5, N).astype(float),  # 4 values, 7 with current's
            "category": rng.choice(["a", "b", "c"], N, p=[0.6, 0.3, 0.1]),
            "category_new": rng.choice(["x", "y"], N),  # current brings an unseen "z"
        },
        schema_overrides={"few": pl.Float64},
    )
    current = pl.DataFrame(
        {
            "shifted": rng.normal(0.5, 1, m),
            "steady": rng.normal(5, 2, m),
            "few": with_nulls(rng.choice([1, 2, 3], m, p=[0.2, 0.3, 0.5]), 0.3),
            "few_then_many": rng.integers(1, 8, m).astype(float),
            "category": rng.choice(["a", "b", "c"], m, p=[0.58, 0.32, 0.1]),
            "category_new": rng.choice(["x", "y", "z"], m, p=[0.4, 0.4, 0.2]),
        },
        schema_overrides={"few": pl.Float64},
    )
    return reference, current


NUMERICAL = ["shifted", "steady", "few", "few_then_many"]
CATEGORICAL = ["category", "category_new"]
EVIDENTLY_METHOD = {
    "wasserstein": "Wasserstein distance (normed)",
    "jensenshannon": "Jensen-Shannon distance",
}


@pytest.fixture(scope="module")
def verdicts():
    from evidently import Report
    from evidently.presets import DataDriftPreset

    reference, current = _frames()
    ours = ReferenceProfile.from_frame(reference, NUMERICAL, CATEGORICAL).drift(current)
    snapshot = Report([DataDriftPreset()]).run(
        evidently_dataset(current, NUMERICAL, CATEGORICAL),
        evidently_dataset(reference, NUMERICAL, CATEGORICAL),
    )
    return ours, snapshot.dict()["metrics"]


def test_verdicts_and_scores_equal_evidently(verdicts):
    ours, metrics = verdicts
    theirs = {m["config"]["column"]: m for m in metrics if "ValueDrift" in m["config"]["type"]}
    assert sorted(theirs) == sorted(NUMERICAL + CATEGORICAL)
    for result in ours:
        config, score = theirs[result.column]["config"], theirs[result.column]["value"]
        assert EVIDENTLY_METHOD[result.method] == config["method"], result.column
        assert result.score == pytest.approx(score, rel=1e-9, abs=1e-12), result.column
        assert result.drifted == (score >= config["threshold"]), result.column
    methods = {r.column: (r.method, r.drifted) for r in ours}
    # the frame really reaches every branch (else the comparison proves less than it says)
    assert methods["shifted"] == ("wasserstein", True)
    assert methods["steady"] == ("wasserstein", False)
    assert methods["few"] == ("jensenshannon", True)
    assert methods["few_then_many"][0] == "wasserstein"
    assert methods["category"] == ("jensenshannon", False)
    assert methods["category_new"] == ("jensenshannon", True)


def test_drifted_share_equals_evidently(verdicts):
    ours, metrics = verdicts
    (count,) = [m["value"] for m in metrics if "DriftedColumnsCount" in m["config"]["type"]]
    assert drifted_share(ours) == pytest.approx(count["share"])


@pytest.mark.parametrize(
    ("values", "numeric"),
    [
        (list(range(MIN_REFERENCE_ROWS - 1)), True),
        ([1.0] * 1000 + [None, float("nan"), float("inf")] * 200, True),  # nulls do not count
        (["a"] * 1000 + [None] * 500, False),
    ],
    ids=["1000_rows", "1000_usable_of_1600", "1000_categories_and_nulls"],
)
def test_profile_refuses_a_reference_of_1000_rows(values, numeric):
    with pytest.raises(ValueError, match=r"'ref' has 1000 usable rows; .* at least 1001"):
        profile_column(pl.Series("ref", values, strict=False), numeric)


def test_profile_accepts_1001_rows():
    assert profile_column(pl.Series("ref", range(MIN_REFERENCE_ROWS)), numeric=True).rows == 1001


def test_all_null_current_column_is_empty_and_not_counted():
    rng = np.random.default_rng(3)
    reference = pl.DataFrame({"gone": rng.normal(0, 1, N), "moved": rng.normal(0, 1, N)})
    current = pl.DataFrame(
        {"gone": [None] * 50, "moved": rng.normal(3, 1, 50)},
        schema={"gone": pl.Float64, "moved": pl.Float64},
    )
    results = ReferenceProfile.from_frame(reference, ["gone", "moved"], []).drift(current)
    gone, moved = results
    assert (gone.method, gone.drifted) == ("empty", False) and math.isnan(gone.score)
    assert moved.drifted
    assert drifted_share(results) == 1.0  # 1 of 1 checked column, not 1 of 2
    table = drift_table(results)
    assert table["method"].to_list() == ["empty", "wasserstein"]
    assert table["drifted"].to_list() == [False, True]
