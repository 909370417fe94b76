"""The calibrated drift check on flights: threshold, alarms and cost against the old rule.

The flights model's watched inputs (its spec's columns less the ignored calendar ones; no
prediction column, as there is no model here) against its training window, 2013-01-01 …
2013-03-31. Old rule: a day fails when its drifted share exceeds 0.65. New rule: the trailing
7 days fail when their largest relative per-column score exceeds the (1 - 0.01) quantile of the
same statistic on the reference's own 7-day runs; its columns include each numeric input's
residual given the others, as the station's (the same rule on the columns alone is counted
beside it). Alarms are counted on the demo's 14 days (2013-05-01 …) and on the 30 days right
after the reference (April: validation and holdout).
Costs: one check (a day's profile.drift, before; a week's and its statistic, after) and the
calibration, paid once per champion version.
"""

import datetime as dt
import statistics
import time

import polars as pl

from benchmarks.bench_features_vs_pandas import build_inputs
from benchmarks.common import timed_pair, write_result
from factory_assets.lib.drift import ReferenceProfile, drifted_share
from factory_assets.lib.drift_calibration import calibrate
from factory_assets.lib.features.flights import flight_features

NAME = "drift_calibration"
WINDOW, ALPHA, OLD = 7, 0.01, 0.65
REFERENCE = (dt.date(2013, 1, 1), dt.date(2013, 3, 31))
SPANS = {"demo_may": (dt.date(2013, 5, 1), 14), "april": (dt.date(2013, 4, 1), 30)}
NUMERICAL = [  # the flights spec's numeric inputs, less sched_month and sched_weekday (ignored)
    "sched_hour", "distance_mi", "plane_age_years", "plane_seats", "plane_engines",
    "weather_age_hours", "temperature_f", "dewpoint_f", "humidity_pct", "wind_speed_mph",
    "wind_gust_mph", "precipitation_in", "pressure_mb", "visibility_mi", "route_late_rate_28d",
    "route_flights_28d", "carrier_late_rate_28d", "carrier_flights_28d",
]  # fmt: skip
CATEGORICAL = ["carrier", "origin", "dest", "route"]
REPEATS = 21


def main() -> dict:
    """Calibrate on the flights reference, count both rules' alarms, time both checks."""
    flights, weather, planes = build_inputs()
    features = flight_features(flights, flights, weather, planes)
    numerical = [c for c in NUMERICAL if c in features.columns]
    date = pl.col("flight_date")
    reference = features.filter(date.is_between(*REFERENCE))
    profile = ReferenceProfile.from_frame(reference, numerical, CATEGORICAL)
    start = time.perf_counter()
    relate = (numerical, CATEGORICAL)  # as the station: each input's residual given the others
    null = calibrate(profile, reference, reference["flight_date"], WINDOW, 0, relate=relate)
    calibration_s = time.perf_counter() - start
    columns_only = calibrate(profile, reference, reference["flight_date"], WINDOW, 0)
    threshold = null.threshold(ALPHA)
    alarms, days = {}, {}
    for span, (first, count) in SPANS.items():
        old = new = alone = 0
        for i in range(count):
            day = first + dt.timedelta(days=i)
            share = drifted_share(profile.drift(features.filter(date == day)))
            week = features.filter(date.is_between(day - dt.timedelta(days=WINDOW - 1), day))
            statistic, column = null.statistic(null.scores(profile, week))
            old, new = old + (share > OLD), new + (statistic > threshold)
            marginal = columns_only.statistic(profile.drift(week))[0]
            alone += marginal > columns_only.threshold(ALPHA)
            days[day.isoformat()] = {
                "drifted_share": share,
                "window_statistic": statistic,
                "column": column,
            }
        alarms[span] = {
            "days": count,
            "old_alarms": old,
            "new_alarms": new,
            "columns_only_alarms": alone,
        }
    day = SPANS["demo_may"][0]
    current = features.filter(date == day)
    week = features.filter(date.is_between(day - dt.timedelta(days=WINDOW - 1), day))
    _, before, _, after = timed_pair(
        lambda: drifted_share(profile.drift(current)),
        lambda: null.statistic(null.scores(profile, week)),
        REPEATS,
    )
    record = write_result(
        NAME,
        baseline="a day's drifted share against 0.65",
        candidate=f"a {WINDOW}-day window's largest relative score vs its calibrated threshold",
        baseline_times=before,
        candidate_times=after,
        goal=0.0,
        rows=week.height,
        extra={
            "goal_text": "none: records the threshold, the alarms and the cost per check",
            "old_threshold": OLD,
            "calibrated_threshold": threshold,
            "alpha": ALPHA,
            **null.quantiles(),
            "null_draws": len(null.null),
            "calibration_s": calibration_s,
            "relations_watched": sorted(null.relations.models) if null.relations else [],
            "check_before_s": statistics.median(before),
            "check_after_s": statistics.median(after),
            "reference_rows": reference.height,
            "alarms": alarms,
            "by_day": days,
        },
    )
    print(
        f"{NAME}: threshold {threshold:.3f} (old share rule {OLD}); alarms {alarms}; check "
        f"{statistics.median(before) * 1e3:.1f} ms -> {statistics.median(after) * 1e3:.1f} ms; "
        f"calibration {calibration_s:.2f} s once per champion"
    )
    return record


if __name__ == "__main__":
    main()
