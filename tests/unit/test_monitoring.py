"""Retrain decisions (fire, skip, debounce, cool-down) and the training windows before a day."""

import datetime as dt

import pytest

from factory_assets.lib.monitoring import CheckFailure, decide_retrain, windows_before

DAY = dt.date(2013, 6, 10)


def failure(day: dt.date, check: str = "drift_within_threshold") -> CheckFailure:
    return CheckFailure(day, check, f"{check} on {day}")


def test_fires_on_the_newest_failure():
    older = failure(DAY - dt.timedelta(days=3), "auc_above_floor")
    newest = failure(DAY)
    decision = decide_retrain(
        [newest, older], in_flight=False, last_retrain_day=None, cooldown_days=7
    )
    assert decision.retrain
    assert decision.trigger == newest
    assert "drift_within_threshold" in decision.reason and str(DAY) in decision.reason


def test_skips_without_failures():
    decision = decide_retrain([], in_flight=False, last_retrain_day=None, cooldown_days=7)
    assert not decision.retrain
    assert decision.trigger is None
    assert decision.reason == "no failed monitoring check"


def test_debounces_while_a_retrain_is_in_flight():
    decision = decide_retrain(
        [failure(DAY)], in_flight=True, last_retrain_day=None, cooldown_days=0
    )
    assert not decision.retrain
    assert decision.trigger is None
    assert "in flight" in decision.reason


@pytest.mark.parametrize(
    ("days_since_retrain", "retrain"),
    [(0, False), (6, False), (7, True), (8, True)],
)
def test_cooldown_ends_exactly_after_cooldown_days(days_since_retrain, retrain):
    last = DAY - dt.timedelta(days=days_since_retrain)
    decision = decide_retrain([failure(DAY)], False, last_retrain_day=last, cooldown_days=7)
    assert decision.retrain is retrain
    if not retrain:
        assert f"next allowed {last + dt.timedelta(days=7)}" in decision.reason


def test_cooldown_is_judged_on_the_newest_failure():
    last = DAY - dt.timedelta(days=7)
    failures = [failure(DAY - dt.timedelta(days=5)), failure(DAY)]  # the older one is inside it
    decision = decide_retrain(failures, False, last_retrain_day=last, cooldown_days=7)
    assert decision.retrain and decision.trigger.day == DAY


def _days(start: dt.date, end: dt.date) -> set[dt.date]:
    return {start + dt.timedelta(days=i) for i in range((end - start).days + 1)}


@pytest.mark.parametrize(
    ("train_days", "val_days", "holdout_days"), [(60, 14, 7), (1, 1, 1), (90, 0, 14)]
)
def test_windows_before_are_adjacent_disjoint_and_sized(train_days, val_days, holdout_days):
    w = windows_before(DAY, train_days, val_days, holdout_days)
    assert w.holdout_end == DAY - dt.timedelta(days=1)  # labels of the day itself are not in yet
    train = _days(w.train_start, w.train_end)
    holdout = _days(w.holdout_start, w.holdout_end)
    val = _days(w.train_end + dt.timedelta(days=1), w.holdout_start - dt.timedelta(days=1))
    assert (len(train), len(val), len(holdout)) == (train_days, val_days, holdout_days)
    assert w.val_days == val_days
    assert not (train & val or train & holdout or val & holdout)
    assert train | val | holdout == _days(w.train_start, w.holdout_end)  # no gap either
    assert max(train) < min(holdout)
