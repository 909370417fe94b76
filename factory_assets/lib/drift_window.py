"""The window a drift check judges, its calibrated threshold (cached), the estimate before labels.

Periods are the line's calendar periods (hours, days, weeks, months) or its batches: nothing
here assumes days.
"""

import dataclasses
import hashlib
import json
from functools import partial

import numpy as np
import polars as pl

from factory_assets.lib.drift_relations_store import fitted_relations, saved_relations
from factory_assets.lib.model_line import ModelLine

# in the cache key: a new statistic never reads an old null
STATISTIC = "max-standardised-log-score/2"


def window_keys(line: ModelLine, key: str, size: int, batches: list[str] | None = None) -> list:
    """The partition keys of the ``size`` periods (batches) ending with ``key``, oldest first."""
    if line.batches:
        order = sorted(set(batches or []) | {key})
        at = order.index(key)
        return order[max(0, at - size + 1) : at + 1]
    period = line.calendar.period(key)
    return [line.calendar.shift(period, -back).key for back in range(size - 1, -1, -1)]


def reference_profile(ref: pl.DataFrame, numerical: list, categorical: list) -> tuple:
    """(The profile of every column with values, the columns Evidently judges by its tests).

    Evidently judges a column by statistical tests (K-S, chi-square) where the reference has at
    most 1,000 usable rows of it (a small table, a short window, a mostly null input); those
    are profiled all the same, as the calibrated statistic uses every column's score.
    """
    from factory_assets.lib.drift import MIN_REFERENCE_ROWS, ReferenceProfile, usable_rows

    rows = {c: usable_rows(ref[c], c in numerical) for c in [*numerical, *categorical]}
    profile = ReferenceProfile.from_frame(
        ref, [c for c in numerical if rows[c] > 1], [c for c in categorical if rows[c] > 1], 2
    )
    return profile, [c for c, n in rows.items() if n < MIN_REFERENCE_ROWS]


def verdicts(profile, tested, ref, current, columns, threshold) -> tuple:  # noqa: ANN001, PLR0913
    """(Evidently's verdict per column, every profiled column's score) of the window ``current``.

    ``columns`` is (numerical, categorical). A column of ``tested`` is judged by Evidently's
    own test; the others by the profile's normed Wasserstein or Jensen-Shannon distance.
    """
    from factory_assets.lib.drift import evidently_drift

    numerical, categorical = columns
    scores = profile.drift(current, threshold)
    if not tested:
        return scores, scores
    judged = evidently_drift(
        ref, current, [c for c in numerical if c in tested], [c for c in categorical if c in tested]
    )
    by_column = {r.column: r for r in scores} | {r.column: r for r in judged}
    return [by_column[c] for c in [*numerical, *categorical]], scores


def period_labels(frame: pl.DataFrame, line: ModelLine) -> pl.Series | None:
    """Each row's period key (or batch), or None when rows have no period (a split, unbatched)."""
    if line.batches:
        return frame[line.batch_column] if line.batch_column in frame.columns else None
    if line.split or line.calendar is None or line.columns.date not in frame.columns:
        return None
    moments = frame[line.columns.date]
    keys = {v: line.calendar.period_of(v).key for v in moments.unique().drop_nulls().to_list()}
    return moments.replace_strict(keys, default=None, return_dtype=pl.String)


def related(profile) -> tuple[list[str], list[str]]:  # noqa: ANN001
    """(numerical, categorical) profiled inputs whose relations are watched.

    All but the prediction, which is a function of them.
    """
    from factory_assets.lib.monitoring import PREDICTION

    inputs = [(c, p.numeric) for c, p in profile.columns.items() if c != PREDICTION]
    return [c for c, numeric in inputs if numeric], [c for c, numeric in inputs if not numeric]


def calibration(profile, ref, line, champion, current, reports, cache, relations):  # noqa: ANN001, ANN201, PLR0913
    """The null of the window statistic for this champion and window, computed once.

    ``champion`` is (model name, version, reference window, MLflow run id): the run id keeps
    the caches of two stores whose version 1 differ (a test's, a rebuilt state's) apart.

    With ``relations``, the statistic also watches each numeric input's residual given the
    others (lib/drift_relations.py). Cached in ``cache`` (the process's reference cache) and as
    JSON in the report store, so a new run (process) of the same champion reads it instead of
    recomputing; the JSON leaves out the relations' models, which the champion's relations file
    holds once for every window length.
    """
    from factory_assets.lib.drift_calibration import Calibration, calibrate

    labels = period_labels(current, line)
    periods = int(labels.n_unique()) if labels is not None else 0
    rows = 0 if periods else current.height  # a window of periods does not depend on its rows
    relate = related(profile) if relations else None
    name, version, window, run = champion
    identity = json.dumps(
        [STATISTIC, sorted(profile.columns), list(window), periods, rows, relate, run]
    )
    digest = hashlib.sha1(identity.encode()).hexdigest()[:12]
    key = ("calibration", name, version, digest)
    if key not in cache:
        path = reports.path(name, f"drift_null_v{version}_{digest}.json")
        found = Calibration.load(path)
        if found is None:
            labels, fitted = period_labels(ref, line), None
            if relate:
                fitted = fitted_relations(ref, labels, champion, relate, reports, cache)
            found = calibrate(
                profile, ref, labels, periods, current.height, relate=relate, fitted=fitted
            )
            found.save(path, with_relations=False)
        elif relate:
            labels = partial(period_labels, ref, line)  # asked for only if it must fit
            watched = saved_relations(ref, labels, champion, relate, reports, cache)
            found = dataclasses.replace(found, relations=watched)
        cache[key] = found
    return cache[key]


def served_sql(line: ModelLine) -> str:
    """The period's (batches') served predictions, every task column, by model."""
    served = ", ".join(f"p.{name}" for name in line.prediction_columns)
    where = (
        "p._batch in (select unnest(?))"
        if line.batches
        else f"p.{line.columns.date} >= ? and p.{line.columns.date} < ?"
    )
    return f"select {served}, p.model_name from {line.predictions} p where {where}"


def estimates(conn, line: ModelLine, key: str, floors: dict[str, float]) -> tuple[dict, list]:  # noqa: ANN001
    """(metadata, models whose estimate misses a bound) of the period's performance before labels.

    The estimate (lib/estimate.py) of each own model's served probabilities, judged by its point
    value against the performance floors it covers. {} for a regression line.
    """
    from factory_assets.lib.estimate import ESTIMATED, estimate
    from factory_assets.lib.performance import served
    from factory_assets.lib.tasks import HIGHER_IS_BETTER

    if line.task.kind not in ESTIMATED:
        return {}, []
    frame = conn.sql(served_sql(line), params=line.params([key])).pl()
    metadata, failed = {}, []
    for (name,), part in sorted(frame.partition_by("model_name", as_dict=True).items()):
        if not line.owns(name):
            continue
        values = estimate(line.task.kind, served(part, line.task))
        metadata |= {k: v for k, v in values.items() if np.isfinite(v)}
        misses = [
            m
            for m, bound in floors.items()
            if np.isfinite(v := values.get(f"estimated_{m}", np.nan))
            and not (v >= bound if HIGHER_IS_BETTER[m] else v <= bound)
        ]
        failed += [f"{name}: estimated {', '.join(misses)} past the bound"] if misses else []
    return metadata, failed
