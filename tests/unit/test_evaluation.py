"""Evaluation functions agree with sklearn and hand-computed values, and flag weak segments."""

import math

import numpy as np
import polars as pl
import pytest
from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score

from factory_assets.lib.evaluation import (
    binary_metrics,
    calibration_table,
    permutation_importance,
    segment_metrics,
    worst_segment,
)


def test_binary_metrics_match_sklearn_on_a_random_example() -> None:
    rng = np.random.default_rng(7)
    p = rng.uniform(0.01, 0.99, 500)
    y = (rng.uniform(size=500) < p).astype(int)
    m = binary_metrics(y, p)
    assert m["auc"] == pytest.approx(roc_auc_score(y, p))
    assert m["log_loss"] == pytest.approx(log_loss(y, p))
    assert m["brier"] == pytest.approx(brier_score_loss(y, p))
    assert (m["n"], m["positive_rate"], m["mean_prediction"]) == pytest.approx(
        (500, y.mean(), p.mean())
    )


@pytest.mark.parametrize(
    ("y", "p", "expected"),
    [
        ([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9], {"auc": 1.0}),  # perfect ranking
        ([0, 0, 1, 1], [0.9, 0.8, 0.2, 0.1], {"auc": 0.0}),  # reversed ranking
        ([0, 1, 0, 1], [0.3, 0.3, 0.3, 0.3], {"auc": 0.5}),  # constant predictor: all ties
        ([0, 1, 1, 1], [0.5, 0.5, 0.5, 0.5], {"brier": 0.25, "log_loss": math.log(2)}),
        ([1, 0], [1.0, 0.0], {"brier": 0.0, "log_loss": pytest.approx(1e-7, rel=1e-3)}),
        ([1, 0], [0.0, 1.0], {"brier": 1.0, "log_loss": pytest.approx(-math.log(1e-7))}),
    ],
)
def test_binary_metrics_hand_computed(y: list, p: list, expected: dict) -> None:
    m = binary_metrics(np.array(y), np.array(p))
    for key, value in expected.items():
        assert m[key] == pytest.approx(value), key


def test_single_class_auc_is_nan_but_other_metrics_are_defined() -> None:
    m = binary_metrics(np.ones(5, dtype=bool), np.full(5, 0.8))
    assert math.isnan(m["auc"])
    assert m["brier"] == pytest.approx(0.04)
    assert m["positive_rate"] == 1.0


def test_binary_metrics_rejects_mismatched_lengths() -> None:
    with pytest.raises(ValueError, match="3 values"):
        binary_metrics(np.zeros(3), np.zeros(4))


def test_calibration_counts_sum_to_n_and_means_lie_in_their_bins() -> None:
    rng = np.random.default_rng(1)
    p = np.concatenate([rng.beta(2, 5, 997), [0.0, 0.3, 1.0]])  # edges land in a bin too
    y = rng.uniform(size=p.size) < p
    table = calibration_table(y, p, bins=10)
    assert table["n"].sum() == p.size
    assert table["bin"].is_unique().all() and table["bin"].is_between(0, 9).all()
    assert (table["p_low"] <= table["mean_prediction"]).all()
    assert (table["mean_prediction"] <= table["p_high"]).all()
    assert table["observed_rate"].is_between(0, 1).all()


def test_calibration_omits_empty_bins_and_puts_one_in_the_last() -> None:
    table = calibration_table(np.array([0, 1, 1]), np.array([0.05, 0.95, 1.0]), bins=4)
    assert table.select("bin", "n", "observed_rate").rows() == [(0, 1, 0.0), (3, 2, 1.0)]
    assert table["p_low"].to_list() == [0.0, 0.75]
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        calibration_table(np.array([0]), np.array([1.5]))


@pytest.fixture
def scored() -> pl.DataFrame:
    """Carriers AA and UA are scored well, B6 at random, tiny XX perfectly but on 20 rows."""
    rng = np.random.default_rng(3)
    frames = []
    for carrier, n, signal in [("AA", 400, 2.0), ("UA", 300, 1.5), ("B6", 300, 0.0)]:
        y = rng.integers(0, 2, n)
        score = signal * y + rng.normal(size=n)
        frames.append(pl.DataFrame({"carrier": carrier, "y": y, "p": 1 / (1 + np.exp(-score))}))
    frames.append(pl.DataFrame({"carrier": "XX", "y": [0, 1] * 10, "p": [0.1, 0.9] * 10}))
    return pl.concat(frames, how="vertical_relaxed")


def test_segment_metrics_names_the_bad_segment_as_worst(scored: pl.DataFrame) -> None:
    table = segment_metrics(scored, by="carrier", min_rows=200)
    assert table["segment"].to_list()[:3] == ["B6", "UA", "AA"]  # auc ascending
    assert table["n"].sum() == scored.height
    assert dict(zip(table["segment"], table["is_reliable"], strict=True))["XX"] is False
    worst = worst_segment(table)
    assert worst is not None and worst["segment"] == "B6" and worst["auc"] < 0.65


def test_small_segment_is_unreliable_and_not_worst(scored: pl.DataFrame) -> None:
    # XX has the best AUC; make it the worst, then it still must not be named: 20 < min_rows.
    flipped = scored.with_columns(
        p=pl.when(pl.col("carrier") == "XX").then(1 - pl.col("p")).otherwise(pl.col("p"))
    )
    table = segment_metrics(flipped, by="carrier", min_rows=200)
    assert table.row(0, named=True)["segment"] == "XX"
    assert worst_segment(table)["segment"] == "B6"
    assert worst_segment(segment_metrics(flipped, by="carrier", min_rows=10_000)) is None


def test_single_class_segment_has_null_auc_sorted_last() -> None:
    frame = pl.DataFrame(
        {
            "origin": ["JFK"] * 4 + ["EWR"] * 3,
            "y": [0, 1, 0, 1, 1, 1, 1],
            "p": [0.2, 0.4, 0.6, 0.8, 0.5, 0.5, 0.5],
        }
    )
    table = segment_metrics(frame, by="origin", min_rows=1)
    assert table["segment"].to_list() == ["JFK", "EWR"]
    assert table["auc"][1] is None and table["is_reliable"].to_list() == [True, False]
    assert table["positives"].to_list() == [2, 3]


def _informative_problem() -> tuple[pl.DataFrame, np.ndarray]:
    rng = np.random.default_rng(5)
    frame = pl.DataFrame({"signal": rng.normal(size=400), "noise": rng.normal(size=400)})
    y = (frame["signal"].to_numpy() + 0.5 * rng.normal(size=400) > 0).astype(int)
    return frame, y


def _predict(frame: pl.DataFrame) -> np.ndarray:
    # A fixed "model" that also leans a little on noise, so both columns are used.
    score = frame["signal"].to_numpy() + 0.1 * frame["noise"].to_numpy()
    return 1 / (1 + np.exp(-score))


def test_permutation_importance_ranks_signal_above_noise_reproducibly() -> None:
    frame, y = _informative_problem()
    result = permutation_importance(_predict, frame, y, ["noise", "signal"], repeats=3, seed=11)
    assert result["feature"].to_list() == ["signal", "noise"]
    assert result["importance"][0] > 0.3 > abs(result["importance"][1])
    assert result["baseline_auc"].unique().to_list() == [
        pytest.approx(roc_auc_score(y, _predict(frame)))
    ]
    again = permutation_importance(_predict, frame, y, ["noise", "signal"], repeats=3, seed=11)
    assert again.equals(result)
    other = permutation_importance(_predict, frame, y, ["noise", "signal"], repeats=3, seed=12)
    assert not other.equals(result)


def test_permutation_importance_leaves_the_input_frame_untouched() -> None:
    frame, y = _informative_problem()
    before = frame.clone()
    permutation_importance(_predict, frame, y, ["signal"], repeats=2)
    assert frame.equals(before)
    with pytest.raises(ValueError, match="all of one class"):
        permutation_importance(_predict, frame, np.ones(frame.height), ["signal"])
