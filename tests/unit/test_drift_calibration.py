"""The calibrated drift threshold: exact held-out scores, and a stream with a known change point."""

import numpy as np
import polars as pl
import pytest
from scipy import stats
from scipy.spatial import distance

from factory_assets.lib.drift import ReferenceProfile
from factory_assets.lib.drift_calibration import (
    DRAWS,
    Calibration,
    _held_out_score,
    calibrate,
)

ROWS, WINDOW, CHANGE = 300, 7, 40  # rows a period, periods a window, the first changed period


def _periods(rng: np.random.Generator, start: int, count: int, shift: float = 0.0) -> pl.DataFrame:
    """Periods of a world with a period effect (weather); ``shift`` moves it (a changed world)."""
    frames = []
    for i in range(start, start + count):
        effect = rng.normal(0, 0.3)  # each period has its own weather
        mix = [0.5 - shift / 4, 0.3, 0.2 + shift / 4]
        frames.append(
            pl.DataFrame(
                {
                    "period": [f"p{i:03d}"] * ROWS,
                    "temperature": rng.normal(effect + shift, 1, ROWS),
                    "hour": rng.integers(6, 23, ROWS).astype(float),
                    "carrier": rng.choice(["a", "b", "c"], ROWS, p=mix),
                }
            )
        )
    return pl.concat(frames)


@pytest.fixture(scope="module")
def world():
    rng = np.random.default_rng(5)
    reference = _periods(rng, 0, 60)
    stream = pl.concat([_periods(rng, 100, CHANGE), _periods(rng, 100 + CHANGE, 15, shift=0.8)])
    profile = ReferenceProfile.from_frame(reference, ["temperature", "hour"], ["carrier"])
    null = calibrate(profile, reference, reference["period"], WINDOW, WINDOW * ROWS)
    return reference, stream, profile, null


def test_a_held_out_window_is_scored_exactly_against_the_rest(world) -> None:
    reference, _, profile, _ = world
    window = reference["period"].is_in(["p010", "p011", "p012"]).to_numpy()
    rest = reference.filter(~pl.Series(window))
    t = reference["temperature"].to_numpy()
    expected = stats.wasserstein_distance(t[window], rest["temperature"].to_numpy()) / np.std(t)
    assert _held_out_score(profile.columns["temperature"], t[window]) == pytest.approx(expected)
    codes = np.searchsorted(profile.columns["carrier"].values, reference["carrier"].to_numpy())
    mine = np.bincount(codes[window], minlength=3)
    others = np.bincount(codes[~window], minlength=3)
    expected = distance.jensenshannon(others / others.sum(), mine / mine.sum())
    assert _held_out_score(profile.columns["carrier"], codes[window]) == pytest.approx(expected)


def test_the_alarm_fires_after_the_change_point_and_not_before(world) -> None:
    _, stream, profile, null = world
    threshold = null.threshold(0.01)
    periods = sorted(stream["period"].unique())
    alarms = {}
    for end in range(WINDOW - 1, len(periods)):
        current = stream.filter(pl.col("period").is_in(periods[end - WINDOW + 1 : end + 1]))
        alarms[end] = null.statistic(profile.drift(current))[0] > threshold
    before = [alarms[e] for e in alarms if e < CHANGE]
    after = [alarms[e] for e in alarms if e >= CHANGE + 2]  # the window is 3+ periods changed
    assert not any(before), f"{sum(before)} false alarm(s) of {len(before)} windows"
    assert all(after)


def test_windows_of_periods_give_a_wider_null_than_iid_rows(world) -> None:
    # rows of one period share its weather: a null from iid rows would alarm on ordinary weeks
    reference, _, profile, by_period = world
    iid = calibrate(profile, reference, None, WINDOW, WINDOW * ROWS)
    assert iid.periods == 0 and len(iid.null) == DRAWS
    assert len(by_period.null) == DRAWS and by_period.periods == WINDOW
    assert by_period.scales["temperature"] > 1.5 * iid.scales["temperature"]
    assert by_period.scales["hour"] == pytest.approx(iid.scales["hour"], rel=0.3)  # no weather


def test_a_calibration_is_saved_and_read_back_whole(world, tmp_path) -> None:
    null = world[3]
    path = tmp_path / "null.json"
    null.save(path)
    assert Calibration.load(path) == null
    assert Calibration.load(tmp_path / "missing.json") is None
    quantiles = null.quantiles()
    assert quantiles["null_q50"] <= quantiles["null_q99"] <= null.threshold(0.01)
