"""Drift of the relations between inputs: a column moved while its correlated partner did not."""

import numpy as np
import polars as pl
import pytest

from factory_assets.lib.drift import ReferenceProfile
from factory_assets.lib.drift_calibration import Calibration, calibrate
from factory_assets.lib.drift_relations import SUFFIX, fit_relations

ROWS, WINDOW, CHANGE = 300, 7, 40  # rows a period, periods a window, the first changed period
NUMERICAL, CATEGORICAL = ["temperature", "dewpoint"], ["carrier"]


def _periods(rng: np.random.Generator, start: int, count: int, bias: float = 0.0) -> pl.DataFrame:
    """Periods of weather: each has its own level (a spell), the dew point a little under the
    temperature; ``bias`` is added to the temperature alone (a thermometer reading high)."""
    frames = []
    for i in range(start, start + count):
        level = rng.normal(0, 2.0)  # spells: the marginals wander a lot from period to period
        temperature = level + rng.normal(0, 1, ROWS)
        dewpoint = temperature - np.abs(rng.normal(1, 0.3, ROWS))
        frames.append(
            pl.DataFrame(
                {
                    "period": [f"p{i:03d}"] * ROWS,
                    "temperature": temperature + bias,
                    "dewpoint": dewpoint,
                    "carrier": rng.choice(["a", "b", "c"], ROWS, p=[0.5, 0.3, 0.2]),
                }
            )
        )
    return pl.concat(frames)


@pytest.fixture(scope="module")
def world():
    rng = np.random.default_rng(11)
    reference = _periods(rng, 0, 60)
    profile = ReferenceProfile.from_frame(reference, NUMERICAL, CATEGORICAL)
    period = reference["period"]
    columns_only = calibrate(profile, reference, period, WINDOW, WINDOW * ROWS)
    relate = (NUMERICAL, CATEGORICAL)
    related = calibrate(profile, reference, period, WINDOW, WINDOW * ROWS, relate=relate)
    stream = pl.concat([_periods(rng, 100, CHANGE), _periods(rng, 100 + CHANGE, 10, bias=1.5)])
    return reference, profile, columns_only, related, stream


def _alarms(profile, null: Calibration, stream: pl.DataFrame) -> dict[int, bool]:  # noqa: ANN001
    """Each window's alarm, by the index of its last period."""
    periods = sorted(stream["period"].unique())
    threshold = null.threshold(0.01)
    alarms = {}
    for end in range(WINDOW - 1, len(periods)):
        current = stream.filter(pl.col("period").is_in(periods[end - WINDOW + 1 : end + 1]))
        alarms[end] = null.statistic(null.scores(profile, current))[0] > threshold
    return alarms


def test_the_relation_fires_after_the_change_and_not_before(world) -> None:
    _, profile, _, related, stream = world
    assert related.relations is not None
    assert {"temperature", "dewpoint"} <= set(related.relations.models)
    alarms = _alarms(profile, related, stream)
    before = [alarms[e] for e in alarms if e < CHANGE]
    after = [alarms[e] for e in alarms if e >= CHANGE]
    assert not any(before), f"{sum(before)} false alarm(s) of {len(before)} windows"
    assert all(after)  # from the first changed period on
    # what sets it: the moved column's residual given the others
    window = stream.filter(pl.col("period").is_in(sorted(stream["period"].unique())[-WINDOW:]))
    assert related.statistic(related.scores(profile, window))[1] in {
        f"temperature{SUFFIX}",
        f"dewpoint{SUFFIX}",
    }


def test_the_columns_alone_miss_a_bias_inside_the_spells(world) -> None:
    # the reason for the relations: +1.5 on the temperature is an ordinary spell's difference
    _, profile, columns_only, _, stream = world
    alarms = _alarms(profile, columns_only, stream)
    assert not any(alarms[e] for e in alarms if e >= CHANGE)  # blind to it, even a window in


def test_false_alarms_on_windows_of_the_same_world(world) -> None:
    # fresh, disjoint windows of the reference's world: about alpha of them alarm
    _, profile, _, related, _ = world
    rng = np.random.default_rng(12)
    threshold = related.threshold(0.01)
    windows = [_periods(rng, 1000 + WINDOW * i, WINDOW) for i in range(200)]
    alarms = [related.statistic(related.scores(profile, w))[0] > threshold for w in windows]
    assert sum(alarms) / len(alarms) <= 0.02
    assert sorted(related.scales) == sorted(
        [*NUMERICAL, *CATEGORICAL, *(f"{t}{SUFFIX}" for t in related.relations.models)]
    )


def test_relations_are_saved_and_scored_the_same_after_reading(world, tmp_path) -> None:
    _, profile, _, related, stream = world
    path = tmp_path / "null.json"
    related.save(path)
    read = Calibration.load(path)
    assert read == related
    assert read.residual_scores(stream) == related.residual_scores(stream)


def test_no_relations_without_rows_or_without_related_columns() -> None:
    rng = np.random.default_rng(3)
    small = _periods(rng, 0, 2)  # 600 rows
    assert fit_relations(small, NUMERICAL, CATEGORICAL, small["period"]) == (None, {})
    noise = pl.DataFrame({"a": rng.normal(size=3000), "b": rng.normal(size=3000)})
    assert fit_relations(noise, ["a", "b"], [], None) == (None, {})
