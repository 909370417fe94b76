"""A reference column too small to profile is judged by Evidently itself (its statistical tests)."""

import numpy as np
import polars as pl

from factory_assets.lib.drift import drifted_share, evidently_drift
from factory_assets.lib.drift_calibration import calibrate
from factory_assets.lib.drift_window import reference_profile, verdicts


def test_evidently_judges_a_small_reference_by_its_tests() -> None:
    rng = np.random.default_rng(0)
    reference = pl.DataFrame({"x": rng.normal(size=300), "y": rng.normal(size=300)})
    current = pl.DataFrame({"x": rng.normal(1.0, size=90), "y": rng.normal(size=90)})
    results = {r.column: r for r in evidently_drift(reference, current, ["x", "y"], [])}
    assert results["x"].method == "K-S p_value" and results["x"].threshold == 0.05
    assert results["x"].drifted and results["x"].score < 0.05
    assert not results["y"].drifted
    assert drifted_share(list(results.values())) == 0.5


def test_a_column_empty_on_one_side_is_not_judged() -> None:
    reference = pl.DataFrame({"x": [1.0, 2.0, 3.0] * 20, "z": [None] * 60}, strict=False)
    current = pl.DataFrame({"x": [1.0, 2.0] * 10, "z": [1.0] * 20})
    results = {r.column: r for r in evidently_drift(reference, current, ["x", "z"], [])}
    assert results["z"].method == "empty" and not results["z"].drifted
    assert results["x"].method != "empty"


def test_a_mostly_null_column_is_judged_by_its_test_and_still_counts_for_the_statistic() -> None:
    # a reference of 3,000 rows whose wind gusts were recorded on 400: before, the whole model
    # went unjudged (and passed); now Evidently tests that column, and the profile scores it
    rng = np.random.default_rng(1)
    gust = np.where(np.arange(3000) < 400, rng.normal(20, 3, 3000), np.nan)
    reference = pl.DataFrame({"x": rng.normal(size=3000), "gust": gust, "c": ["a", "b"] * 1500})
    current = pl.DataFrame(
        {"x": rng.normal(size=500), "gust": rng.normal(26, 3, 500), "c": ["a", "b"] * 250}
    )
    columns = (["x", "gust"], ["c"])
    profile, tested = reference_profile(reference, *columns)
    assert tested == ["gust"] and set(profile.columns) == {"x", "gust", "c"}
    results, scores = verdicts(profile, tested, reference, current, columns, 0.1)
    by_column = {r.column: r for r in results}
    assert [r.column for r in results] == ["x", "gust", "c"]
    assert by_column["gust"].method == "K-S p_value" and by_column["gust"].drifted
    assert by_column["x"].method == "wasserstein" and not by_column["x"].drifted
    assert {r.column: r.method for r in scores}["gust"] == "wasserstein"
    null = calibrate(profile, reference, None, 0, current.height)
    statistic, column = null.statistic(scores)
    assert column == "gust" and statistic > null.threshold(0.01)


def test_a_small_reference_is_judged_by_tests_on_every_column() -> None:
    rng = np.random.default_rng(2)
    reference = pl.DataFrame({"x": rng.normal(size=600), "c": ["a", "b", "c"] * 200})
    current = pl.DataFrame({"x": rng.normal(size=100), "c": ["a", "b"] * 50})
    profile, tested = reference_profile(reference, ["x"], ["c"])
    assert tested == ["x", "c"]
    results, _ = verdicts(profile, tested, reference, current, (["x"], ["c"]), 0.1)
    assert [r.method for r in results][0] == "K-S p_value" and results[1].drifted
