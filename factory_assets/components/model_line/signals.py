"""What a model line's retrain sensor reads: failed checks, and the estimate before labels."""

import datetime as dt

import dagster as dg

from factory_assets.components.model_line.drift import DRIFT_CHECK
from factory_assets.components.model_line.performance import PERFORMANCE_CHECK
from factory_assets.lib import monitoring as mon
from factory_assets.lib.model_line import ModelLine
from factory_assets.private_api import check_records


def check_keys(line: ModelLine) -> list[dg.AssetCheckKey]:
    """The drift and performance checks whose failures retrain ``line``."""
    return [
        dg.AssetCheckKey(dg.AssetKey(line.asset("drift_report")), DRIFT_CHECK),
        dg.AssetCheckKey(dg.AssetKey(line.asset("prediction_performance")), PERFORMANCE_CHECK),
    ]


def point(line: ModelLine, key: str) -> dt.date | str:
    """A partition key (or trigger tag) on the line's axis: its day, or a batch's own key."""
    return key if line.batches else mon.parse_day(key)


ESTIMATE_SIGNAL = "performance_estimate_past_bound"  # a drift record's estimate before labels
SIGNALS = {"on_drift": True, "on_performance": True, "on_estimate": False}


def _names(value: object) -> list[str]:
    """Model names of a verdict's ``failed_models``-like text ("(none)": none)."""
    return [n for n in str(value or "").split(", ") if n and n != "(none)"]


def _signals(record, key: dg.AssetCheckKey, line: ModelLine, signals: dict) -> list:  # noqa: ANN001
    """(registered model, CheckFailure) that one evaluated check record brings, by ``signals``."""
    detail = {k: v.value for k, v in record.evaluation.metadata.items()}
    day, drift = point(line, record.partition), key.name == DRIFT_CHECK
    out = []
    if drift and signals["on_estimate"]:
        text = "the performance estimated before labels is past a bound: " + ", ".join(
            f"{k.removeprefix('estimated_')} {v:.3f}"
            for k, v in detail.items()
            if k.startswith("estimated_") and isinstance(v, float)
        )
        for name in _names(detail.get("estimate_failed_models")):
            out.append((name, mon.CheckFailure(day, ESTIMATE_SIGNAL, text)))
    if record.passed or not signals["on_drift" if drift else "on_performance"]:
        return out
    text = detail.get("detail") or f"drifted share {detail.get('drifted_share'):.2f}"
    for name in _names(detail.get("failed_models")) or [line.name]:
        out.append((name, mon.CheckFailure(day, key.name, text)))
    return out


def new_failures(
    instance: dg.DagsterInstance, line: ModelLine, cursor: int, signals: dict | None = None
) -> tuple[list, int]:
    """(registered model, CheckFailure) evaluated after ``cursor``, and the next cursor.

    ``signals`` (the spec's ``monitoring.retrain.on_*``) pick what counts: a failed drift
    check, a failed performance check, a drift record whose estimate before labels is past a
    performance bound. Every check record stored after the cursor is read, however many a
    backfill wrote. A record is stored when its run plans the check and updated when the check
    is evaluated, so the cursor stops before the oldest one still planned in an unfinished run:
    its verdict is read at a later tick. Verdicts after it are read again then; a second
    request for the same failure has the same run key (the daemon drops it), and a retrain in
    flight debounces.
    """
    signals = {**SIGNALS, **(signals or {})}
    failures, newest, waiting, finished = [], cursor, [], {}
    for key in check_keys(line):
        for record in reversed(check_records(instance, key, after=cursor)):
            if record.partition is None:
                continue
            newest = max(newest, record.id)
            if record.passed is None:
                if record.run_id not in finished:
                    run = instance.get_run_by_id(record.run_id)
                    finished[record.run_id] = run is None or run.is_finished
                if not finished[record.run_id]:
                    waiting.append(record.id)
                continue
            failures += _signals(record, key, line, signals)
    return failures, min([newest, *(i - 1 for i in waiting)])


def judged(instance: dg.DagsterInstance, line: ModelLine, cursor: int) -> tuple[object, object]:
    """(newest period judged after ``cursor``, first period ever judged) by the drift check.

    A scheduled retrain counts periods from these: every judged period has a drift verdict.
    Either is None when no verdict is stored.
    """
    key = check_keys(line)[0]
    fresh = [r.partition for r in check_records(instance, key, after=cursor)
             if r.partition is not None and r.passed is not None]  # fmt: skip
    newest = max((point(line, p) for p in fresh), default=None)
    if newest is None:
        return None, None
    every = [r.partition for r in check_records(instance, key) if r.partition is not None]
    return newest, min(point(line, p) for p in every)
