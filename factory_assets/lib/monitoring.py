"""Monitoring decisions without Dagster: what to watch, when to retrain, on which window.

A retrain is requested when a drift or performance check failed on a day that is after the
cool-down of the last retrain and while no retrain of the model is in flight. Windows are in
data days (partition dates), not wall-clock time, so a replay of a year behaves like the year;
a model without a time axis counts its cool-down in batches (its "days" are batch keys).
"""

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

PREDICTION = "prediction"


def monitored_columns(
    ignore: tuple[str, ...],
    numeric: tuple[str, ...] | list[str],
    categorical: tuple[str, ...] | list[str],
    numeric_prediction: bool = True,
) -> tuple[list[str], list[str]]:
    """(numerical, categorical) model inputs watched for drift, the prediction included.

    ``ignore`` is the spec's ``monitoring.drift.ignore``: inputs that drift by construction
    (calendar columns: a model trained on winter sees no July), not evidence of a changed world.
    The prediction is a number (a probability, a value) or, ``numeric_prediction`` false, a
    category (a multiclass model's served class).
    """
    numerical = [c for c in numeric if c not in ignore]
    categorical = [c for c in categorical if c not in ignore]
    if numeric_prediction:
        return [*numerical, PREDICTION], categorical
    return numerical, [*categorical, PREDICTION]


@dataclass(frozen=True)
class CheckFailure:
    """A failed monitoring check on one day (or batch: its key)."""

    day: dt.date | str
    check: str  # e.g. "drift_within_threshold"
    detail: str  # what failed, for the retrain run's tags and the summary


@dataclass(frozen=True)
class RetrainDecision:
    """Whether to retrain now, and why (or why not)."""

    retrain: bool
    reason: str
    trigger: CheckFailure | None = None


def days_between(later: dt.date, earlier: dt.date) -> int:
    """Data days from ``earlier`` to ``later``."""
    return (later - earlier).days


def decide_retrain(
    failures: list[CheckFailure],
    in_flight: bool,
    last_retrain_day: dt.date | str | None,
    cooldown_days: int,
    elapsed: Callable[[object, object], int] = days_between,
) -> RetrainDecision:
    """One retrain for the newest failure outside the cool-down, none while one is running.

    ``elapsed(later, earlier)`` counts the cool-down: data days, or batches between two keys.
    """
    if not failures:
        return RetrainDecision(False, "no failed monitoring check")
    newest = max(failures, key=lambda f: f.day)
    if in_flight:
        return RetrainDecision(False, "a retrain of this model is already in flight")
    if last_retrain_day is not None and elapsed(newest.day, last_retrain_day) < cooldown_days:
        after = (
            last_retrain_day + dt.timedelta(days=cooldown_days)
            if isinstance(last_retrain_day, dt.date)
            else f"{cooldown_days} batches after it"
        )
        return RetrainDecision(
            False, f"cool-down: last retrain on {last_retrain_day}, next allowed {after}"
        )
    return RetrainDecision(True, f"{newest.check} failed on {newest.day}: {newest.detail}", newest)


SCHEDULE = "retrain_schedule"  # the trigger of a scheduled retrain (no check failed)


def decide_scheduled(  # noqa: PLR0913
    newest: dt.date | str | None,
    in_flight: bool,
    since: dt.date | str | None,
    every_days: int,
    elapsed: Callable[[object, object], int] = days_between,
) -> RetrainDecision:
    """A scheduled retrain on ``newest`` (the newest judged period) ``every_days`` after ``since``.

    ``since`` is the last retrain's trigger (whatever started it) or, before any, the first
    judged period; ``elapsed`` counts data days or batches, as for the cool-down.
    """
    if not every_days or newest is None or since is None:
        return RetrainDecision(False, "no retrain scheduled")
    if in_flight:
        return RetrainDecision(False, "a retrain of this model is already in flight")
    gone = elapsed(newest, since)
    if gone < every_days:
        return RetrainDecision(
            False, f"scheduled retrain {every_days} after {since} ({gone} so far)"
        )
    detail = f"scheduled every {every_days}: {gone} judged since {since}"
    return RetrainDecision(
        True, f"{SCHEDULE} on {newest}: {detail}", CheckFailure(newest, SCHEDULE, detail)
    )


@dataclass(frozen=True)
class TrainingWindows:
    """Training, validation and holdout windows ending the day before ``day``."""

    train_start: dt.date
    train_end: dt.date
    val_days: int
    holdout_start: dt.date
    holdout_end: dt.date


def windows_before(
    day: dt.date,
    train_days: int,
    val_days: int,
    holdout_days: int,
    labelled_through: dt.date | None = None,
) -> TrainingWindows:
    """The newest windows whose labels have landed by ``day``.

    Holdout = the last ``holdout_days`` labelled days (through ``labelled_through``, by default
    the day before ``day``), validation the ``val_days`` before it, training the
    ``train_days`` before that; no day is in two windows.
    """
    holdout_end = labelled_through or day - dt.timedelta(days=1)
    holdout_start = holdout_end - dt.timedelta(days=holdout_days - 1)
    train_end = holdout_start - dt.timedelta(days=val_days + 1)
    train_start = train_end - dt.timedelta(days=train_days - 1)
    return TrainingWindows(train_start, train_end, val_days, holdout_start, holdout_end)


def parse_day(value: str) -> dt.date:
    """A partition key (``2013-01-05``, or ``2013-01-05-14:00`` by the hour) or tag as a date."""
    return dt.date.fromisoformat(value[:10])
