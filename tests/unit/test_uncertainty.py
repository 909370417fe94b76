"""Intervals (DeLong vs a bootstrap), the sequential test, and the estimate before labels."""

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from factory_assets.lib.estimate import estimate, estimate_multiclass, expected_auc
from factory_assets.lib.tasks import Task, multiclass_metrics
from factory_assets.lib.uncertainty import (
    delong,
    e_process,
    e_value,
    interval,
    interval_fails,
    shortfall,
)

BINARY = Task("binary")


def _scores(rng: np.random.Generator, n: int, separation: float = 0.8):
    y = rng.random(n) < 0.3
    return y.astype(float), rng.normal(separation * y, 1.0)


def test_delong_auc_is_sklearns_and_its_error_matches_a_bootstrap() -> None:
    rng = np.random.default_rng(1)
    y, p = _scores(rng, 900)
    p = np.round(p, 1)  # ties: midranks count them half, as the AUC does
    auc, se = delong(y, p)
    assert auc == pytest.approx(roc_auc_score(y, p), abs=1e-12)
    boot = []
    for _ in range(400):
        rows = rng.integers(0, y.size, y.size)
        boot.append(roc_auc_score(y[rows], p[rows]))
    assert se == pytest.approx(np.std(boot), rel=0.15)


def test_delong_interval_covers_the_true_auc_about_98_percent_of_the_time() -> None:
    rng = np.random.default_rng(2)
    big_y, big_p = _scores(rng, 200_000)
    truth = roc_auc_score(big_y, big_p)
    covered = 0
    for _ in range(300):
        y, p = _scores(rng, 400)
        bounds = interval("auc", roc_auc_score(y, p), y, p, BINARY)
        covered += bounds["auc_low"] <= truth <= bounds["auc_high"]
    assert 0.95 <= covered / 300 <= 0.997


def test_a_bootstrap_interval_is_seeded_and_judged_against_a_ceiling() -> None:
    rng = np.random.default_rng(3)
    y, p = _scores(rng, 500)
    prob = 1 / (1 + np.exp(-p))
    brier = float(np.mean((prob - y) ** 2))
    first = interval("brier", brier, y, prob, BINARY)
    assert first == interval("brier", brier, y, prob, BINARY)
    assert first["brier_low"] < brier < first["brier_high"]
    assert interval_fails("brier", first["brier_low"], first["brier_high"], brier - 0.05)
    assert not interval_fails("brier", first["brier_low"], first["brier_high"], brier)
    assert interval_fails("auc", 0.5, 0.57, 0.58) and not interval_fails("auc", 0.5, 0.6, 0.58)


def test_the_sequential_test_keeps_its_false_alarm_rate_however_often_one_looks() -> None:
    rng = np.random.default_rng(4)
    alpha, streams, periods = 0.05, 2000, 365
    # a model exactly at its floor every period: each shortfall is N(0, 1)
    z = rng.normal(0.0, 1.0, (streams, periods))
    ever = (e_process(z) >= 1 / alpha).any(axis=1).mean()
    assert ever <= alpha
    assert e_value(list(z[0])) == pytest.approx(e_process(z[0])[-1]) and e_value([]) == 1.0
    # peeking at a fresh 95 % test every period alarms on nearly every stream within a year
    assert (np.abs(z) > 1.96).any(axis=1).mean() > 0.99
    # a model one standard error short is caught within weeks
    worse = rng.normal(1.0, 1.0, (100, 60))
    first = [next((t for t, e in enumerate(e_process(r)) if e >= 1 / alpha), 99) for r in worse]
    assert np.median(first) <= 10 and max(first) < 60
    assert shortfall("auc", 0.55, 0.02, 0.58) == pytest.approx(1.5)
    assert shortfall("brier", 0.20, 0.01, 0.25) == pytest.approx(-5.0)


def test_the_estimate_matches_simulated_labels_of_calibrated_probabilities() -> None:
    rng = np.random.default_rng(6)
    p = rng.beta(1.2, 3.0, 900)
    estimated = estimate("binary", p)
    realised = {"auc": [], "brier": [], "log_loss": []}
    for _ in range(300):
        y = (rng.random(p.size) < p).astype(float)
        realised["auc"].append(roc_auc_score(y, p))
        realised["brier"].append(np.mean((p - y) ** 2))
        realised["log_loss"].append(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))
    for metric, values in realised.items():
        # the mean of the realised metric, within a tenth of its sampling error
        assert estimated[f"estimated_{metric}"] == pytest.approx(
            np.mean(values), abs=0.1 * np.std(values)
        ), metric
    # and a miscalibrated model (probabilities too sure) is estimated better than it is
    y = (rng.random(p.size) < p).astype(float)
    sure = np.clip(p * 1.8, 0.001, 0.999)
    assert estimate("binary", sure)["estimated_brier"] < np.mean((sure - y) ** 2)
    assert expected_auc(np.array([0.5])) != expected_auc(np.array([0.5]))  # NaN: no pair


def test_the_multiclass_estimate_matches_simulated_labels() -> None:
    rng = np.random.default_rng(8)
    probs = rng.dirichlet([0.6, 0.8, 1.0, 0.5], 800)
    classes = ("a", "b", "c", "d")
    estimated = estimate_multiclass(probs)
    draws = {"accuracy": [], "log_loss": [], "macro_f1": []}
    for _ in range(200):
        y = np.array([rng.choice(4, p=row) for row in probs[:200]])
        y = np.concatenate([y, (rng.random((600, 1)) < probs[200:].cumsum(1)).argmax(1)])
        m = multiclass_metrics(y, probs, classes)
        for metric in draws:
            draws[metric].append(m[metric])
    for metric, values in draws.items():
        assert estimated[metric] == pytest.approx(np.mean(values), abs=0.15 * np.std(values) + 2e-3)
    assert estimate("regression", np.zeros(3)) == {}
