"""shadow_summary for every task: agreement by the task's decision, the label's primary metric."""

import numpy as np
import polars as pl
import pytest

from factory_assets.lib.online.shadow import LOG_SCHEMA, shadow_summary
from factory_assets.lib.tasks import Task


def _log(model: str, champion: list[list[float]], challenger: list[list[float]]) -> pl.DataFrame:
    n = len(champion)
    return pl.DataFrame(
        {
            "logged_at": ["t"] * n,
            "request_id": ["r"] * n,
            "model": [model] * n,
            "registered": [model] * n,
            "key": [f"k{i}" for i in range(n)],
            "date": [""] * n,
            "champion_version": ["1"] * n,
            "champion": champion,
            "challenger_version": ["2"] * n,
            "challenger": challenger,
        },
        schema=LOG_SCHEMA,
    )


def test_a_regression_agrees_within_five_percent_and_is_judged_by_rmse() -> None:
    mine, theirs = [[10.0], [20.0], [30.0], [40.0]], [[10.4], [23.0], [30.0], [41.0]]
    labels = pl.DataFrame({"key": ["k0", "k1", "k2"], "label": [11.0, 20.0, None]})
    (row,) = shadow_summary(_log("rides", mine, theirs), labels, Task("regression")).to_dicts()
    assert row["agreement"] == 0.75  # 23 vs 20 differs by 13 %
    assert row["max_abs_diff"] == pytest.approx(3.0)
    assert (row["labelled"], row["metric"]) == (2, "rmse")
    assert row["champion_score"] == pytest.approx(np.sqrt((1.0 + 0.0) / 2))
    assert row["challenger_score"] == pytest.approx(np.sqrt((0.6**2 + 3.0**2) / 2))


def test_a_multiclass_agrees_on_the_class_and_is_judged_by_log_loss() -> None:
    task = Task("multiclass", ("a", "b", "c"))
    mine = [[0.7, 0.2, 0.1], [0.2, 0.5, 0.3], [0.1, 0.1, 0.8]]
    theirs = [[0.6, 0.3, 0.1], [0.5, 0.3, 0.2], [0.1, 0.2, 0.7]]
    labels = pl.DataFrame({"key": ["k0", "k1", "k2"], "label": ["a", "b", "c"]})
    (row,) = shadow_summary(_log("delays", mine, theirs), labels, task).to_dicts()
    assert row["agreement"] == pytest.approx(2 / 3)
    assert (row["labelled"], row["metric"]) == (3, "log_loss")
    assert row["champion_score"] < row["challenger_score"]  # the champion is surer and right


def test_a_binary_without_landed_labels_has_no_score() -> None:
    log = _log("late", [[0.2], [0.7]], [[0.3], [0.4]])
    labels = pl.DataFrame({"key": [], "label": []}, schema={"key": pl.String, "label": pl.Boolean})
    (row,) = shadow_summary(log, labels, Task()).to_dicts()
    assert (row["agreement"], row["labelled"], row["metric"]) == (0.5, 0, "auc")
    assert row["champion_score"] is None
