"""The model_quality benchmark's measures and baselines, on small synthetic frames."""

import json

import numpy as np
import polars as pl

from benchmarks import model_quality as mq
from benchmarks.bench_model_quality import batch_groups, kept_records
from factory_assets.lib.tasks import Task

BINARY, REGRESSION = Task("binary"), Task("regression")
MULTICLASS = Task("multiclass", ("a", "b", "c"))


def _two_scales() -> tuple:
    """One month served by two versions that each rank their own rows perfectly, on two scales."""
    y = np.array([0, 0, 1, 1, 0, 0, 1, 1], dtype=float)
    p = np.array([0.01, 0.02, 0.03, 0.04, 0.90, 0.91, 0.92, 0.93])
    versions = np.array(["m v1"] * 4 + ["m v2"] * 4)
    return y, p, versions


def test_the_one_scale_gap_is_what_mixing_versions_loses() -> None:
    y, p, versions = _two_scales()
    months = np.array(["2013-05"] * 8)
    gap = mq.one_scale_gap(BINARY, y, p, months, versions)
    pooled = BINARY.metrics(y, p)["auc"]
    assert pooled < 1.0  # v1's late flights score below v2's on-time ones
    assert gap == {"2013-05": 1.0 - pooled}  # each version alone ranks its rows perfectly
    rescaled = np.concatenate([p[4:], p[4:]])  # one scale: nothing lost
    assert abs(mq.one_scale_gap(BINARY, y, rescaled, months, versions)["2013-05"]) < 1e-12
    single = np.array(["m v1"] * 8)
    assert mq.one_scale_gap(BINARY, y, p, months, single) == {}  # one version: no gap


def test_measures_pool_by_month_and_average_periods() -> None:
    rng = np.random.default_rng(0)
    n = 400
    y = (rng.random(n) < 0.4).astype(float)
    periods = np.repeat(["2013-05-01", "2013-05-02", "2013-06-01", "2013-06-02"], n // 4)
    months = np.array([p[:7] for p in periods])
    good, noisy = y + rng.normal(0, 0.5, n), y + rng.normal(0, 2.0, n)
    preds = {"factory": noisy, "frozen_gbdt": rng.random(n), "monthly_gbdt": good}
    record = mq.measures(BINARY, y, preds, periods, months, np.array(["v1"] * n))
    by_month = [
        BINARY.metrics(y[months == m], noisy[months == m])["auc"] for m in ("2013-05", "2013-06")
    ]
    by_period = [
        BINARY.metrics(y[periods == d], noisy[periods == d])["auc"] for d in sorted(set(periods))
    ]
    assert record["pooled"]["factory_mean"] == np.mean(by_month)
    assert record["per_period"]["factory_mean"] == np.mean(by_period)
    for measure in ("pooled", "per_period"):
        r = record[measure]
        assert r["margin_vs_monthly"] == r["factory_mean"] - r["monthly_gbdt_mean"] < 0
    assert [b["month"] for b in record["by_month"]] == ["2013-05", "2013-06"]
    assert record["periods"] == 4 and record["rows"] == n
    assert record["one_scale_gap_mean"] is None and record["months_with_several_versions"] == 0


def test_the_margin_is_better_is_positive_for_an_error_too() -> None:
    assert mq.margin(REGRESSION, 2.0, 3.0) == 1.0  # RMSE 2 against 3: the factory is better
    assert mq.margin(BINARY, 0.70, 0.75) < 0
    assert mq.margin(BINARY, None, 0.75) is None


def _synthetic(rows: int, seed: int) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    route = rng.integers(0, 400, rows)  # more values than HistGradientBoosting takes
    x = rng.normal(size=rows)
    signal = x + (route % 2) * 1.5
    return pl.DataFrame({
        "route": [f"r{v}" for v in route],
        "x": x,
        "late": signal > 0.7,
        "minutes": 10 * signal,
        "kind": np.asarray(["a", "b", "c"])[np.digitize(signal, [0.0, 1.0])],
    })  # fmt: skip


def test_the_gbdt_learns_each_task_on_the_inputs_it_is_given() -> None:
    train, test = _synthetic(3000, 1), _synthetic(800, 2).with_columns(pl.lit("new").alias("route"))
    binary = mq.fit_gbdt(BINARY, train, "late", ["route"], ["x"])(_synthetic(800, 3))
    assert (
        binary.shape == (800,)
        and mq.metric(BINARY, BINARY.encode(_synthetic(800, 3)["late"]), binary) > 0.9
    )
    assert mq.fit_gbdt(BINARY, train, "late", ["route"], ["x"])(test).shape == (
        800,
    )  # unseen value
    value = mq.fit_gbdt(REGRESSION, train, "minutes", ["route"], ["x"])(test)
    assert value.shape == (800,)
    two = train.filter(pl.col("kind") != "c")  # a class never seen in training gets 0
    probs = mq.fit_gbdt(MULTICLASS, two, "kind", ["route"], ["x"])(test)
    assert probs.shape == (800, 3) and np.all(probs[:, 2] == 0)
    assert np.allclose(probs.sum(axis=1), 1.0)


def test_batches_group_in_key_order() -> None:
    rows = pl.DataFrame({"_period": ["b03", "b01", "b02", "b05", "b04", "b01"]})
    grouped = batch_groups(rows, 2)
    assert grouped["_month"].to_list() == [
        "b03 … b04", "b01 … b02", "b01 … b02", "b05 … b05", "b03 … b04", "b01 … b02",
    ]  # fmt: skip


def test_a_segmented_line_compares_versions_within_a_segment_only() -> None:
    y, p, versions = _two_scales()
    months = np.array(["2013-05"] * 8)
    stations = np.array(["a"] * 4 + ["b"] * 4)  # each station served by its own model
    assert mq.segment_gaps(BINARY, y, p, months, versions, stations) == {}
    twice = [np.concatenate([a, a]) for a in (y, p, months, versions)]
    one = np.array(["a"] * 8 + ["b"] * 8)  # a: two versions; b: again two versions
    gaps = mq.segment_gaps(BINARY, *twice, one)
    assert gaps == mq.one_scale_gap(BINARY, y, p, months, versions)


def test_one_datasets_replay_keeps_the_other_datasets_models_in_the_results(tmp_path) -> None:  # noqa: ANN001
    before = {
        "replay": {"datasets": ["chicago", "nycflights"], "seconds": {"chicago": 473.0,
                   "chicago_judged": 2.0, "nycflights": 1556.0, "nycflights_judged": 9.0}},
        "goal_met": False,
        "models": {"ridership": {"dataset": "chicago", "goal_met": True},
                   "flights": {"dataset": "nycflights", "goal_met": False}},
    }  # fmt: skip
    path = tmp_path / "model_quality.json"
    path.write_text(json.dumps(before))
    new = {
        "replay": {"datasets": ["nycflights"], "seconds": {"nycflights": 1700.0}},
        "goal_met": True,
        "models": {"flights": {"dataset": "nycflights", "goal_met": True}},
    }
    merged = kept_records(new, path)
    assert merged["models"] == {
        "ridership": {"dataset": "chicago", "goal_met": True},  # kept
        "flights": {"dataset": "nycflights", "goal_met": True},  # replaced
    }
    assert merged["goal_met"] is True
    assert merged["replay"]["datasets"] == ["chicago", "nycflights"]
    assert merged["replay"]["kept_from_before"] == ["chicago"]
    assert merged["replay"]["seconds"] == {
        "chicago": 473.0, "chicago_judged": 2.0, "nycflights": 1700.0
    }  # fmt: skip
    assert kept_records(new, tmp_path / "none.json") == new  # nothing before: as measured
