"""False alarms and detection of the drift and performance checks on flights (issue 19, point 4).

A stand-in champion (scikit-learn's HistGradientBoostingClassifier, seconds to fit; the checks
judge served probabilities, whoever served them) trains on two of every three days of
2013-01-01 … 2013-03-31, which are also the drift reference; the third days (30) are held out:
periods from inside the training distribution. On them, with full 7-period windows (24 periods):
- drift: the calibrated check (alpha 0.01; its statistic over the columns and, since the
  relations check, over each numeric input's residual given the others), the same check on the
  columns alone (before the relations), and the old rule (a day's drifted share > 0.65);
- performance on the real labels: the interval test (floor AUC 0.58, ceiling Brier 0.25) and
  the sequential test (alpha 0.05) over the stream;
- performance on simulated labels (y ~ Bernoulli(p): the model exactly as good as it says),
  with each period's floor at its own expected AUC, the hardest case for the interval test.
Injected shifts from a held-out period on (one trial per onset): carrier mix (only the three
largest carriers fly), +10 °F (the thermometer alone), and a late-rate jump (a third of the
on-time flights late); detection = the check fires within 3 periods of the onset (drift: also
within a whole window). Goals: false alarms <= 2 % a period, detection >= 90 %. Recorded
beside them, outside the goal: a warm spell (temperature and dew point both +10 °F, the
humidity as the Magnus formula has it: the relations kept), which a winter reference holds
weeks of.
"""

import datetime as dt
import time

import numpy as np
import polars as pl

from benchmarks.bench_drift_calibration import CATEGORICAL, NUMERICAL
from benchmarks.bench_features_vs_pandas import build_inputs
from benchmarks.common import write_result
from factory_assets.lib.drift import ReferenceProfile, drifted_share
from factory_assets.lib.drift_calibration import calibrate
from factory_assets.lib.estimate import expected_auc
from factory_assets.lib.features.flights import flight_features
from factory_assets.lib.tasks import Task
from factory_assets.lib.uncertainty import (
    delong,
    e_process,
    interval,
    interval_fails,
    shortfall,
)

NAME = "alarm_calibration"
FIRST, DAYS, WINDOW, ALPHA, PERF_ALPHA = dt.date(2013, 1, 1), 90, 7, 0.01, 0.05
FLOORS = {"auc": 0.58, "brier": 0.25}
SIMULATIONS = 100  # label draws per held-out period (at 1 % a period: ~24 alarms in 2,400)
RANDOM_WINDOWS = 200


def _x(frame: pl.DataFrame, categories: dict) -> np.ndarray:
    """The stand-in's inputs: numbers, and each category as its index in the training's."""
    codes = [pl.col(c).replace_strict(categories[c], default=None) for c in CATEGORICAL]
    return frame.select(*NUMERICAL, *codes).cast(pl.Float64).to_numpy()


def _model(train: pl.DataFrame, categories: dict):  # noqa: ANN202
    from sklearn.ensemble import HistGradientBoostingClassifier

    model = HistGradientBoostingClassifier(max_iter=150, random_state=0)
    return model.fit(_x(train, categories), train["is_late"].to_numpy())


def _served(model, frame: pl.DataFrame, categories: dict) -> np.ndarray:  # noqa: ANN001
    return model.predict_proba(_x(frame, categories))[:, 1]


def _drift(profile, null, days: list[pl.DataFrame]) -> bool:  # noqa: ANN001
    window = pl.concat(days[-WINDOW:])
    return null.statistic(null.scores(profile, window))[0] > null.threshold(ALPHA)


def _drift_trials(profile, null, frames: list, shifted: dict) -> tuple:  # noqa: ANN001
    """(False alarms a period, detection within 3, within a window, on the first period)."""
    judged = range(WINDOW - 1, len(frames))
    false_alarms = sum(_drift(profile, null, frames[: i + 1]) for i in judged) / len(judged)
    detection, within_window, at_once = {}, {}, {}
    onsets = list(range(WINDOW, len(frames) - WINDOW + 1))  # each with a whole window after it
    for name, after in shifted.items():
        first = []  # periods from the onset to the first alarm (None: none in a window)
        for onset in onsets:
            seen = (frames[:onset] + after[onset : onset + k + 1] for k in range(WINDOW))
            fired = (_drift(profile, null, window) for window in seen)
            first.append(next((k + 1 for k, alarm in enumerate(fired) if alarm), None))
        detection[name] = sum(k is not None and k <= 3 for k in first) / len(onsets)
        within_window[name] = sum(k is not None for k in first) / len(onsets)
        at_once[name] = sum(k == 1 for k in first) / len(onsets)
    return false_alarms, detection, within_window, at_once


def _saturation(fahrenheit: pl.Expr) -> pl.Expr:
    """Saturation vapour pressure up to a constant (Magnus; the data's humidity follows it)."""
    celsius = (fahrenheit - 32) / 1.8
    return (17.625 * celsius / (243.04 + celsius)).exp()


def _warm_spell(frame: pl.DataFrame) -> pl.DataFrame:
    """Temperature and dew point both +10 °F, the humidity moved as the Magnus formula says."""
    t, d = pl.col("temperature_f"), pl.col("dewpoint_f")
    ratio = (_saturation(d + 10) / _saturation(t + 10)) / (_saturation(d) / _saturation(t))
    return frame.with_columns(t + 10, d + 10, (pl.col("humidity_pct") * ratio).clip(0, 100))


def _random_windows(profile, nulls: dict, frames: list) -> dict:  # noqa: ANN001
    """False alarms a window on RANDOM_WINDOWS random sets of WINDOW held-out periods."""
    rng = np.random.default_rng(1)
    picks = [rng.choice(len(frames), WINDOW, replace=False) for _ in range(RANDOM_WINDOWS)]
    return {
        name: sum(_drift(profile, null, [frames[i] for i in pick]) for pick in picks) / len(picks)
        for name, null in nulls.items()
    }


def _season(profile, nulls: dict, features: pl.DataFrame, serve) -> dict:  # noqa: ANN001
    """Share of the weeks of April … December whose window fires (the real year's drift)."""
    last = features["flight_date"].max()
    ends = [FIRST + dt.timedelta(days=DAYS + WINDOW - 1 + 7 * i) for i in range(60)]
    weeks = []
    for end in [e for e in ends if e <= last]:
        days = pl.col("flight_date").is_between(end - dt.timedelta(days=WINDOW - 1), end)
        weeks.append(serve(features.filter(days)))
    return {
        name: sum(_drift(profile, null, [week]) for week in weeks) / len(weeks)
        for name, null in nulls.items()
    } | {"weeks": len(weeks)}


def _performance(y: np.ndarray, p: np.ndarray, floor_auc: float) -> tuple[bool, float]:
    """(the interval test fails, the AUC shortfall in standard errors) of one period."""
    auc, _ = delong(y, p)
    brier = float(np.mean((p - y) ** 2))
    # the line's own intervals and rule (lib/uncertainty.py), at the checks' level
    a, b = (interval(m, v, y, p, Task("binary")) for m, v in (("auc", auc), ("brier", brier)))
    fails = interval_fails("auc", a["auc_low"], a["auc_high"], floor_auc) or interval_fails(
        "brier", b["brier_low"], b["brier_high"], FLOORS["brier"]
    )
    return fails, shortfall("auc", auc, a["auc_se"], floor_auc)


def _sequential(z: list[float]) -> np.ndarray:
    return e_process(np.array(z)) >= len(FLOORS) / PERF_ALPHA


def main() -> dict:  # noqa: PLR0915
    """Fit the stand-in, calibrate, count false alarms and detections, write the result."""
    flights, weather, planes = build_inputs()
    features = flight_features(flights, flights, weather, planes)
    labels = flights.select("flight_id", pl.col("is_late").cast(pl.Float64))
    features = features.join(labels, on="flight_id").filter(pl.col("is_late").is_not_null())
    days = [FIRST + dt.timedelta(days=i) for i in range(DAYS)]
    held = days[2::3]
    train = features.filter(pl.col("flight_date").is_in([d for d in days if d not in held]))
    categories = {c: {v: i for i, v in enumerate(train[c].unique().sort())} for c in CATEGORICAL}
    model = _model(train, categories)
    reference = train.with_columns(prediction=_served(model, train, categories))
    numerical = [*NUMERICAL, "prediction"]
    profile = ReferenceProfile.from_frame(reference, numerical, CATEGORICAL)
    start = time.perf_counter()
    columns_only = calibrate(profile, reference, reference["flight_date"], WINDOW, 0)
    columns_only_s = time.perf_counter() - start
    start = time.perf_counter()
    relate = (NUMERICAL, CATEGORICAL)  # the inputs: the prediction is a function of them
    null = calibrate(profile, reference, reference["flight_date"], WINDOW, 0, relate=relate)
    calibration_s = time.perf_counter() - start
    by_day = {}
    for day in held:
        frame = features.filter(pl.col("flight_date") == day)
        by_day[day] = frame.with_columns(prediction=_served(model, frame, categories))
    frames = [by_day[d] for d in held]
    judged = range(WINDOW - 1, len(held))
    rng = np.random.default_rng(0)
    # inside the training distribution
    start = time.perf_counter()
    drift_alarms = sum(_drift(profile, null, frames[: i + 1]) for i in judged)
    new_s = (time.perf_counter() - start) / len(judged)
    start = time.perf_counter()
    sum(_drift(profile, columns_only, frames[: i + 1]) for i in judged)
    columns_only_check_s = (time.perf_counter() - start) / len(judged)
    start = time.perf_counter()
    old_alarms = sum(drifted_share(profile.drift(frames[i])) > 0.65 for i in judged)
    old_s = (time.perf_counter() - start) / len(judged)
    real = [_performance(f["is_late"].to_numpy(), f["prediction"].to_numpy(), FLOORS["auc"])
            for f in frames]  # fmt: skip
    interval_real = sum(r[0] for r in real)
    sequential_real = bool(_sequential([r[1] for r in real]).any())
    sim_interval, sim_sequential = 0, 0
    for _ in range(SIMULATIONS):
        z = []
        for f in frames:
            p = f["prediction"].to_numpy()
            y = (rng.random(p.size) < p).astype(float)
            fails, short = _performance(y, p, expected_auc(p))
            sim_interval += fails
            z.append(short)
        sim_sequential += bool(_sequential(z).any())
    # injected shifts, one trial per onset
    largest = train["carrier"].value_counts().sort("count", descending=True)["carrier"][:3]
    shifts = {
        "carrier_mix": lambda f: f.filter(pl.col("carrier").is_in(largest.to_list())),
        "temperature_plus_10f": lambda f: f.with_columns(pl.col("temperature_f") + 10),
        "warm_spell_outside_goal": _warm_spell,
    }
    shifted = {
        name: [
            shift(f).with_columns(prediction=_served(model, shift(f), categories)) for f in frames
        ]
        for name, shift in shifts.items()
    }
    _, detection, within_window, at_once = _drift_trials(profile, null, frames, shifted)
    before = _drift_trials(profile, columns_only, frames, shifted)
    onsets = list(range(WINDOW, len(held) - WINDOW + 1))
    nulls = {"with_relations": null, "columns_only": columns_only}
    random_windows = _random_windows(profile, nulls, frames)
    season = _season(profile, nulls, features, lambda f: f.with_columns(
        prediction=_served(model, f, categories)))  # fmt: skip
    late_hits = 0
    for onset in onsets:
        z = [r[1] for r in real[:onset]]
        fired = False
        for f in frames[onset : onset + 3]:
            y = f["is_late"].to_numpy().copy()
            on_time = np.flatnonzero(y == 0)
            y[rng.choice(on_time, on_time.size // 3, replace=False)] = 1.0
            fails, short = _performance(y, f["prediction"].to_numpy(), FLOORS["auc"])
            z.append(short)
            fired = fired or fails or bool(_sequential(z)[-1])
        late_hits += fired
    detection["late_rate_jump"] = late_hits / len(onsets)
    periods = len(judged)
    false_alarms = {
        "drift_calibrated": drift_alarms / periods,
        "drift_old_share_065": old_alarms / periods,
        "performance_interval_real_labels": interval_real / len(frames),
        "performance_interval_simulated_at_boundary": sim_interval / (SIMULATIONS * len(frames)),
        "performance_sequential_streams_real": float(sequential_real),
        "performance_sequential_streams_simulated": sim_sequential / SIMULATIONS,
    }
    outside_goal = {
        "warm_spell_within_3": detection.pop("warm_spell_outside_goal"),
        "warm_spell_within_window": within_window.pop("warm_spell_outside_goal"),
    }
    columns_only_result = {
        "false_alarm_rate": before[0],
        "detection_within_3": before[1],
        f"detection_within_{WINDOW}": before[2],
        "detection_on_the_first_period": before[3],
        "threshold": columns_only.threshold(ALPHA),
        "calibration_s": columns_only_s,
        "check_s": columns_only_check_s,
    }
    print(f"{NAME}: false alarms {false_alarms}; detection {detection}; within a window "
          f"{within_window}; {outside_goal}", flush=True)  # fmt: skip
    print(f"{NAME}: the columns alone {columns_only_result}", flush=True)
    record = write_result(
        NAME,
        baseline="old rule (a day's drifted share > 0.65)",
        candidate="calibrated window check (alpha 0.01) and interval/sequential performance",
        baseline_times=[old_s],  # seconds a period's drift check takes, each rule
        candidate_times=[new_s],
        goal=0.0,
        rows=sum(f.height for f in frames),
        extra={
            "goal_text": "false alarms <= 0.02 a period; detection within 3 periods >= 0.9",
            # the goal is on alarms, not on time (the ratio compares the two rules' cost)
            # on the checks the line runs: the old rule's rate is the baseline, not judged
            "goal_met": max(v for k, v in false_alarms.items() if k != "drift_old_share_065")
            <= 0.02
            and min(detection.values()) >= 0.9,
            "false_alarm_rate": false_alarms,
            "detection_within_3": detection,
            f"drift_detection_within_{WINDOW}": within_window,
            "drift_detection_on_the_first_period": at_once,
            "held_out_periods": periods,
            "onsets": len(onsets),
            "calibrated_threshold": null.threshold(ALPHA),
            "drift_statistic": "max over columns and residuals of score / its median on "
            "reference windows",
            "relations_watched": len(null.relations.models) if null.relations else 0,
            "calibration_s": calibration_s,  # once per champion version and window
            "drift_check_s": new_s,
            "drift_outside_goal": outside_goal,
            # in-distribution windows of random held-out days, not only consecutive ones
            "drift_false_alarm_random_windows": random_windows | {"windows": RANDOM_WINDOWS},
            # weeks of April … December fired on: the real seasonal drift, where firing is right
            "drift_fires_on_the_year": season,
            "drift_columns_only": columns_only_result,
            "simulated_streams": SIMULATIONS,
        },
    )
    return record


if __name__ == "__main__":
    main()
