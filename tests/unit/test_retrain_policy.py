"""The retrain_policy_value benchmark's policies, served record and lift."""

import numpy as np
import pytest

from benchmarks import retrain_policy as rp
from factory_assets.lib.tasks import Task
from factory_assets.settings import Settings

BINARY, REGRESSION = Task("binary"), Task("regression")


@pytest.mark.parametrize(
    ("policy", "batched", "expected"),
    [
        ("frozen", False, {"every_days": 0, "on_drift": False, "on_performance": False,
                           "on_estimate": False}),
        ("monthly", False, {"every_days": 30, "on_drift": False, "on_performance": False,
                            "on_estimate": False}),
        ("monthly", True, {"every_days": 4, "on_drift": False, "on_performance": False,
                           "on_estimate": False}),
        ("current", False, {}),
        ("performance_only", True, {"on_drift": False}),
    ],
)  # fmt: skip
def test_a_policy_is_the_retrain_overrides_the_settings_read(
    policy: str, batched: bool, expected: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    variables = rp.policy_env(policy, batched)
    assert set(variables) == {f"FACTORY_RETRAIN_{k}" for k in rp.OVERRIDES}
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    # "" is unset: the spec's own value (an operator's override does not leak in)
    assert Settings().retrain_overrides() == expected


def test_an_unknown_policy_names_the_known_ones() -> None:
    with pytest.raises(ValueError, match="'weekly'.*frozen, monthly, current"):
        rp.policy_env("weekly", False)


def test_the_served_record_pools_months_and_averages_periods() -> None:
    rng = np.random.default_rng(1)
    periods = np.repeat(["05-01", "05-02", "06-01"], 200)
    months = np.array([p[:2] for p in periods])
    y = (rng.random(600) < 0.3).astype(float)
    pred = np.where(periods == "05-02", 1 - y, y) * 0.5 + rng.random(600) * 0.5
    record = rp.served_record(BINARY, y, pred, periods, months)
    may = [b for b in record["by_month"] if b["month"] == "05"][0]
    days = [BINARY.metrics(y[periods == d], pred[periods == d])["auc"] for d in ("05-01", "05-02")]
    assert may["per_period"] == pytest.approx(np.mean(days))  # one good day, one inverted day
    may_rows = months == "05"
    assert may["pooled"] == pytest.approx(BINARY.metrics(y[may_rows], pred[may_rows])["auc"])
    assert record["per_period_mean"] == pytest.approx(
        np.mean([*days, BINARY.metrics(y[months == "06"], pred[months == "06"])["auc"]])
    )
    assert record["periods"] == 3 and record["rows"] == 600


def test_the_lift_is_in_the_metrics_better_direction() -> None:
    current = {"pooled_mean": 0.70, "per_period_mean": 0.64}
    frozen = {"pooled_mean": 0.67, "per_period_mean": 0.65}
    assert rp.lift(BINARY.primary, current, frozen) == pytest.approx(
        {"pooled": 0.03, "per_period": -0.01}
    )
    rmse = rp.lift(REGRESSION.primary, {"pooled_mean": 9.0, "per_period_mean": 10.0},
                   {"pooled_mean": 10.0, "per_period_mean": 10.0})  # fmt: skip
    assert rmse == pytest.approx({"pooled": 1.0, "per_period": 0.0})  # lower rmse: better
    assert rp.lift(BINARY.primary, current, None) == {"pooled": None, "per_period": None}
