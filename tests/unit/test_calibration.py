"""Calibration on validation: Platt and temperature scaling recover a known miscalibration."""

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from factory_assets.lib.tasks import Task
from factory_assets.lib.training.calibration import Calibration, fit


def test_platt_recovers_the_true_map_and_agrees_with_scikit_learn():
    rng = np.random.default_rng(0)
    z = rng.normal(0.0, 1.5, 40_000)
    y = rng.random(z.size) < 1.0 / (1.0 + np.exp(-(2.0 * z - 1.0)))
    cal = fit(Task("binary"), z, y)
    assert cal.scale == pytest.approx(2.0, abs=0.08)
    assert cal.shift == pytest.approx(-1.0, abs=0.06)
    reference = LogisticRegression(C=np.inf).fit(z[:, None], y)
    assert cal.scale == pytest.approx(reference.coef_[0, 0], rel=1e-3)
    assert cal.shift == pytest.approx(reference.intercept_[0], rel=1e-3)


def test_temperature_recovers_an_overconfident_multiclass_net():
    rng = np.random.default_rng(1)
    true = rng.normal(0.0, 1.0, (30_000, 3))
    p = np.exp(true) / np.exp(true).sum(axis=1, keepdims=True)
    y = np.array([rng.choice(3, p=row) for row in p])
    cal = fit(Task("multiclass", ("a", "b", "c")), true * 4.0, y)  # 4x too confident
    assert cal.scale == pytest.approx(0.25, rel=0.05)
    assert cal.shift == 0.0


def test_nothing_to_fit_is_the_identity():
    assert fit(Task("regression"), np.arange(5.0), np.arange(5.0)).identity
    assert fit(Task("binary"), np.arange(5.0), np.ones(5)).identity  # one class only
    assert fit(Task("binary"), np.array([]), np.array([])).identity


def test_separable_rows_keep_a_finite_scale_and_the_ranking():
    z = np.array([-2.0, -1.0, 1.0, 2.0])
    cal = fit(Task("binary"), z, np.array([0, 0, 1, 1]))
    assert np.isfinite(cal.scale) and cal.scale > 0
    assert np.all(np.diff(cal.apply(z)) > 0)
    assert Calibration(2.0, 1.0).apply(np.array([1.0])).tolist() == [3.0]
