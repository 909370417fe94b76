"""One day's drift check as the history grows: our reference profile against Evidently run naively.

The current day is 2013-12-02 (about 1,000 flights); the reference is either the 30 days before
it or the whole year before it, so the reference grows about elevenfold. Ours is
``ReferenceProfile.drift`` with the profile already built (once per champion; its build time is
recorded on its own). Naive is Evidently's ``Report([DataDriftPreset()]).run`` on the raw
history every tick, without saving HTML; most of its time is plotly figures built inside
``run``, so Evidently's stattests alone on the raw history are timed too, as a stricter baseline
and the part that grows with history. All give Evidently's verdicts, so the per-column verdicts
must agree on both histories before any timing is written.
"""

import datetime as dt
import os
import statistics
import time

import polars as pl

from benchmarks.bench_features_vs_pandas import build_inputs
from benchmarks.common import timed, timed_pair, write_result
from factory_assets.lib.drift import ReferenceProfile, evidently_dataset
from factory_assets.lib.features.flights import flight_features

NAME = "drift_check_cost"
REPEATS = 5  # Evidently on a year takes seconds per run on this machine
FLAT_REPEATS = 41  # ours alone, 30 days against a year, alternated
GOAL = 3  # naive / ours at one year of history
FLAT_LIMIT = 1.5  # ours_year / ours_30d at most this while the reference grows ~11x
DAY = dt.date(2013, 12, 2)
FIRST_DAY = dt.date(2013, 1, 1)
# Model inputs of the flights model (monitored_columns() without the prediction, as there is no
# model here): weather, calendar, aircraft and rolling route rates, plus 3 categorical columns.
# plane_engines has at most 5 distinct values, so it goes to Jensen-Shannon like a category.
NUMERICAL = [
    "sched_hour",
    "distance_mi",
    "plane_age_years",
    "plane_engines",
    "temperature_f",
    "precipitation_in",
    "route_late_rate_28d",
]
CATEGORICAL = ["carrier", "origin", "dest"]


def evidently_run(current, reference):
    """Evidently's DataDriftPreset on two Datasets: the snapshot, no HTML."""
    from evidently import Report
    from evidently.presets import DataDriftPreset

    return Report([DataDriftPreset()]).run(current, reference)


def evidently_stattests(reference, current, numerical: list[str]) -> dict[str, float]:
    """Evidently's default stattest per column on pandas columns: its math, no report or plots."""
    from evidently.legacy.calculations.stattests.registry import get_stattest
    from evidently.legacy.core import ColumnType

    scores = {}
    for column in reference.columns:
        kind = ColumnType.Numerical if column in numerical else ColumnType.Categorical
        ref, cur = reference[column].dropna(), current[column].dropna()
        test = get_stattest(ref, cur, kind, None)
        scores[column] = test(ref, cur, kind, test.default_threshold).drift_score
    return scores


def evidently_verdicts(snapshot) -> dict[str, tuple[float, bool]]:
    """(score, drifted) per column from the snapshot's ValueDrift metrics."""
    verdicts = {}
    for metric in snapshot.dict()["metrics"]:
        config = metric["config"]
        if "ValueDrift" in config["type"]:
            score = float(metric["value"])
            verdicts[config["column"]] = (score, score >= config["threshold"])
    return verdicts


def compare(ours, snapshot) -> float:
    """Largest score difference; raises when a column's verdict differs or is missing."""
    theirs = evidently_verdicts(snapshot)
    if sorted(theirs) != sorted(r.column for r in ours):
        raise AssertionError(f"columns differ: ours {[r.column for r in ours]}, {sorted(theirs)}")
    wrong = [r.column for r in ours if r.drifted != theirs[r.column][1]]
    if wrong:
        raise AssertionError(f"verdicts differ on {wrong}: ours {ours}, Evidently {theirs}")
    return max(abs(r.score - theirs[r.column][0]) for r in ours)


def _load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def main() -> dict:
    """Time one tick on 30 days and on a year of history, check the verdicts and write it."""
    flights, weather, planes = build_inputs()
    features = flight_features(flights, flights, weather, planes)
    current = features.filter(pl.col("flight_date") == DAY)
    before = pl.col("flight_date") < DAY
    references = {
        "30d": features.filter(before & (pl.col("flight_date") >= DAY - dt.timedelta(days=30))),
        "year": features.filter(before & (pl.col("flight_date") >= FIRST_DAY)),
    }
    load_before = _load()
    ev_current = evidently_dataset(current, NUMERICAL, CATEGORICAL)
    pd_current = current.select(*NUMERICAL, *CATEGORICAL).to_pandas()
    timings, profiles, score_diffs = {}, {}, {}
    for span, reference in references.items():
        start = time.perf_counter()
        profiles[span] = ReferenceProfile.from_frame(reference, NUMERICAL, CATEGORICAL)
        timings[f"profile_build_{span}_s"] = time.perf_counter() - start
        ev_reference = evidently_dataset(reference, NUMERICAL, CATEGORICAL)
        profile = profiles[span]
        snapshot, naive_s, ours, ours_s = timed_pair(
            lambda ev_reference=ev_reference: evidently_run(ev_current, ev_reference),
            lambda profile=profile: profile.drift(current),
            REPEATS,
        )
        score_diffs[span] = compare(ours, snapshot)  # raises before anything is written
        timings[f"naive_{span}"], timings[f"ours_{span}"] = naive_s, ours_s
        pd_reference = reference.select(*NUMERICAL, *CATEGORICAL).to_pandas()
        scores, timings[f"stattests_{span}"] = timed(
            lambda pd_reference=pd_reference: evidently_stattests(
                pd_reference, pd_current, NUMERICAL
            ),
            REPEATS,
        )
        if max(abs(r.score - scores[r.column]) for r in ours) > 1e-9:
            raise AssertionError(f"Evidently's stattests gave {scores}, ours {ours}")
        print(f"{span}: {reference.height} rows, verdicts agree (score diff {score_diffs[span]})")
    # ours alone, many alternated runs: is one tick flat in the history length?
    short, long = profiles["30d"], profiles["year"]
    _, flat_30d, _, flat_year = timed_pair(
        lambda: short.drift(current), lambda: long.drift(current), FLAT_REPEATS
    )
    ours_30d, ours_year = statistics.median(flat_30d), statistics.median(flat_year)
    naive_30d, naive_year = (statistics.median(timings[f"naive_{s}"]) for s in ("30d", "year"))
    stattests_30d, stattests_year = (
        statistics.median(timings[f"stattests_{s}"]) for s in ("30d", "year")
    )
    flatness = ours_year / ours_30d
    record = write_result(
        NAME,
        baseline="Evidently Report([DataDriftPreset()]).run(day, whole history) every tick",
        candidate="ReferenceProfile.drift(day), profile built once per reference",
        baseline_times=timings["naive_year"],
        candidate_times=timings["ours_year"],
        goal=GOAL,
        rows=current.height,
        extra={
            "goal_text": f"naive/ours >= {GOAL} at one year; ours_year/ours_30d <= {FLAT_LIMIT}",
            "day": DAY.isoformat(),
            "columns": {"numerical": NUMERICAL, "categorical": CATEGORICAL},
            "current_rows": current.height,
            "reference_rows_30d": references["30d"].height,
            "reference_rows_year": references["year"].height,
            "ours_30d_s": ours_30d,
            "ours_year_s": ours_year,
            "naive_30d_s": naive_30d,
            "naive_year_s": naive_year,
            "ratio_30d": naive_30d / ours_30d,
            "ratio_year": naive_year / ours_year,
            "ours_flatness": flatness,
            "ours_flat": bool(flatness <= FLAT_LIMIT),
            "naive_growth": naive_year / naive_30d,
            # Evidently's stattests alone on the raw history (no Report, no plots): the part
            # of the naive run that grows with history, and a stricter baseline than the Report
            "stattests_only_30d_s": stattests_30d,
            "stattests_only_year_s": stattests_year,
            "ratio_year_vs_stattests_only": stattests_year / ours_year,
            "profile_build_30d_s": timings["profile_build_30d_s"],
            "profile_build_year_s": timings["profile_build_year_s"],
            "verdicts_agree": True,  # compare() raised otherwise
            "max_score_diff": max(score_diffs.values()),
            "max_score_diff_by_history": score_diffs,
            "verdicts_year": {r.column: [r.method, r.score, r.drifted] for r in ours},
            "all_naive_30d_s": timings["naive_30d"],
            "all_ours_30d_s": timings["ours_30d"],
            "all_ours_flat_30d_s": flat_30d,
            "all_ours_flat_year_s": flat_year,
            "load_average": {"before": load_before, "after": _load()},
            "notes": f"ours_*_s: medians of {FLAT_REPEATS} runs of ours alone, 30 days and year "
            f"alternated; naive_*_s: medians of {REPEATS} runs alternated with ours (those ours "
            "runs give baseline_s/candidate_s/ratio above); stattests_only_*_s: medians of "
            f"{REPEATS} runs. Evidently's Datasets and pandas frames are built untimed, so "
            "neither baseline pays the polars-to-pandas conversion.",
        },
    )
    verdict = "met" if record["ratio_year"] >= GOAL and record["ours_flat"] else "NOT met"
    print(
        f"{NAME}: naive {naive_30d:.3f}s / {naive_year:.3f}s, ours {ours_30d * 1e3:.2f}ms / "
        f"{ours_year * 1e3:.2f}ms (30 days / year), stattests alone {stattests_30d:.3f}s / "
        f"{stattests_year:.3f}s, ratio at a year {record['ratio_year']:.0f}, "
        f"flatness {flatness:.2f} (goal: {verdict}); load {record['load_average']}"
    )
    return record
