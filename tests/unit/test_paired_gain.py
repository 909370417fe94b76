"""The gate's paired gain: one model over another on the same rows, and its standard error."""

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from factory_assets.lib.tasks import Task
from factory_assets.lib.uncertainty import Z, delong, paired_gain

BINARY, REGRESSION = Task("binary"), Task("regression")
MULTICLASS = Task("multiclass", ["a", "b", "c"])


def _two_models(rng: np.random.Generator, n: int, edge: float = 0.0):
    """Labels and two correlated scores: they share most of their signal and noise."""
    y = (rng.random(n) < 0.25).astype(float)
    shared = rng.normal(0.8 * y, 1.0)
    a = shared + rng.normal(edge * y, 0.4, n)
    b = shared + rng.normal(0.0, 0.4, n)
    return y, a, b


def _paired_bootstrap(metric, y, a, b, task, draws=400, seed=5):  # noqa: ANN001, ANN202
    rng = np.random.default_rng(seed)
    diffs = []
    for _ in range(draws):
        rows = rng.integers(0, y.size, y.size)
        diffs.append(task.score(y[rows], a[rows], metric) - task.score(y[rows], b[rows], metric))
    return float(np.std(diffs, ddof=1))


def test_the_paired_auc_gain_is_sklearns_difference_with_a_bootstrap_sized_error() -> None:
    y, a, b = _two_models(np.random.default_rng(1), 3000, edge=0.1)
    gain, se = paired_gain("auc", y, a, b, BINARY)
    assert gain == pytest.approx(roc_auc_score(y, a) - roc_auc_score(y, b), abs=1e-12)
    assert se == pytest.approx(_paired_bootstrap("auc", y, a, b, BINARY), rel=0.15)
    # correlated models: the gain is far surer than either AUC (what an unpaired test would use)
    unpaired = np.hypot(delong(y, a)[1], delong(y, b)[1])
    assert se < 0.6 * unpaired


def test_equal_models_rarely_look_better_and_a_real_edge_is_found() -> None:
    rng = np.random.default_rng(2)
    false = found = 0
    for _ in range(300):
        y, a, b = _two_models(rng, 1500)  # a and b equally good: any lead is noise
        gain, se = paired_gain("auc", y, a, b, BINARY)
        false += gain - Z * se > 0
        y, a, b = _two_models(rng, 1500, edge=0.6)
        gain, se = paired_gain("auc", y, a, b, BINARY)
        found += gain - Z * se > 0
    assert false / 300 <= 0.03  # one-sided 1 % by design, with room for 300 draws' noise
    assert found / 300 >= 0.9


@pytest.mark.parametrize(
    ("metric", "task"),
    [("brier", BINARY), ("log_loss", BINARY), ("rmse", REGRESSION), ("mae", REGRESSION),
     ("r2", REGRESSION), ("log_loss", MULTICLASS), ("accuracy", MULTICLASS),
     ("macro_f1", MULTICLASS)],
)  # fmt: skip
def test_every_metrics_gain_is_its_better_positive_difference_with_a_bootstrap_sized_error(
    metric: str, task: Task
) -> None:
    rng = np.random.default_rng(3)
    n = 2000
    if task.kind == "regression":
        y = rng.normal(0, 1, n)
        a, b = y + rng.normal(0, 0.8, n), y + rng.normal(0, 0.9, n)
    elif task.kind == "binary":
        y, a, b = _two_models(rng, n, edge=0.3)
        a, b = 1 / (1 + np.exp(-a)), 1 / (1 + np.exp(-b))
    else:
        y = rng.integers(0, 3, n)
        truth = np.eye(3)[y]
        a = np.exp(2.0 * truth + rng.normal(0, 1, (n, 3)))
        b = np.exp(1.5 * truth + rng.normal(0, 1, (n, 3)))
        a, b = a / a.sum(axis=1, keepdims=True), b / b.sum(axis=1, keepdims=True)
    gain, se = paired_gain(metric, y, a, b, task)
    assert gain == pytest.approx(task.score(y, a, metric) - task.score(y, b, metric), rel=1e-9)
    assert gain > 0  # a is the better model by construction
    assert se == pytest.approx(_paired_bootstrap(metric, y, a, b, task), rel=0.2)
    assert paired_gain(metric, y, a, b, task) == (gain, se)  # seeded where it resamples
