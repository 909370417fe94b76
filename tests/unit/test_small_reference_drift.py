"""A reference too small to profile is judged by Evidently itself (its statistical tests)."""

import numpy as np
import polars as pl

from factory_assets.lib.drift import drifted_share, evidently_drift


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
