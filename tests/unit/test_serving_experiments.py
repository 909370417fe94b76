"""Pure parts of two benchmarks: refit_vs_gated's probation, blend_streams' blend in time."""

import numpy as np

from benchmarks.bench_refit_vs_gated import probation
from factory_assets.lib.tasks import Task

BINARY = Task("binary")
DAYS, PER_DAY = 20, 400


def _version(rng: np.random.Generator, refit_noise: float) -> tuple:
    """One version's 20 periods: labels, its refit's and its gated model's scores."""
    n = DAYS * PER_DAY
    y = (rng.random(n) < 0.3).astype(float)
    gated = rng.normal(1.0 * y, 1.0)
    refit = gated + rng.normal(0.0, refit_noise, n)  # more noise: a worse refit
    periods = np.repeat(np.arange(DAYS), PER_DAY)
    return y, refit, gated, periods


def test_a_refit_that_loses_is_replaced_after_its_trial_and_one_that_does_not_is_kept() -> None:
    rng = np.random.default_rng(3)
    bad, good = _version(rng, refit_noise=2.0), _version(rng, refit_noise=0.0)
    y, refit, gated = (np.concatenate([bad[i], good[i]]) for i in range(3))
    periods = np.concatenate([bad[3], good[3] + DAYS])
    versions = np.repeat(["1", "2"], DAYS * PER_DAY)
    served, moved = probation(BINARY, y, refit, gated, versions, periods, days=7)
    assert [m["version"] for m in moved] == ["1"]
    assert moved[0]["gain"] < 0
    first = versions == "1"
    kept = first & (periods <= 7)  # its trial (periods 0..6) and the period its labels land
    assert np.array_equal(served[kept], refit[kept])
    assert np.array_equal(served[first & (periods > 7)], gated[first & (periods > 7)])
    assert np.array_equal(served[versions == "2"], refit[versions == "2"])  # equal: kept


def test_a_version_too_short_for_its_trial_keeps_its_refit() -> None:
    y, refit, gated, periods = _version(np.random.default_rng(4), refit_noise=2.0)
    versions = np.full(y.size, "3")
    served, moved = probation(BINARY, y, refit, gated, versions, periods, days=DAYS - 1)
    assert moved == []
    assert np.array_equal(served, refit)


def test_a_blend_in_time_averages_each_version_with_the_one_it_replaced() -> None:
    from benchmarks.bench_blend_streams import with_previous

    versions = np.array(["1", "1", "3", "3", "5"])  # in the order they served
    served = np.array([0.2, 0.4, 0.6, 0.8, 1.0])
    asked = []

    def previous_of(version: str, mask: np.ndarray) -> np.ndarray:
        asked.append((version, mask.nonzero()[0].tolist()))
        return np.full(int(mask.sum()), float(version) / 10)

    out = with_previous(versions, served, previous_of)
    assert asked == [("1", [2, 3]), ("3", [4])]  # the champion each one replaced, on its rows
    assert np.allclose(out, [0.2, 0.4, 0.35, 0.45, 0.65])  # the first version alone
