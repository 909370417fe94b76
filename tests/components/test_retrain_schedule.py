"""A scheduled retrain (``monitoring.retrain.every_days``): counted from the last retrain.

The sensor reads judged periods from the drift verdicts stored on the instance: the first
scheduled retrain comes ``every_days`` after the first judged period, the next ones that long
after the last retrain, whatever started it; unset, only failed checks retrain.
"""

import datetime as dt

import dagster as dg
import pytest

from factory_assets.components.model_line.automation import RETRAIN_TAG, TRIGGER_DAY_TAG
from factory_assets.lib.monitoring import SCHEDULE, decide_scheduled
from factory_assets.resources import RetrainPolicy

DRIFT = dg.AssetCheckKey(dg.AssetKey("flights_drift_report"), "drift_within_threshold")
FIRST = dt.date(2013, 5, 1)


@pytest.fixture
def in_memory() -> dg.DagsterInstance:
    """An ephemeral instance (verdicts are stored in milliseconds)."""
    with dg.DagsterInstance.ephemeral() as instance:
        yield instance


def _judge(instance: dg.DagsterInstance, first: int, last: int) -> None:
    """Passed drift verdicts for days FIRST + first … FIRST + last."""
    for offset in range(first, last + 1):
        day = FIRST + dt.timedelta(days=offset)
        instance.report_runless_asset_event(
            dg.AssetCheckEvaluation(
                asset_key=DRIFT.asset_key,
                check_name=DRIFT.name,
                passed=True,
                partition=day.isoformat(),
                metadata={"drifted_share": 0.1, "failed_models": "(none)"},
            )
        )


def _tick(defs: dg.Definitions, instance: dg.DagsterInstance, **policy) -> dg.SensorResult:  # noqa: ANN003
    context = dg.build_sensor_context(
        instance=instance, cursor=None, resources={"retrain_policy": RetrainPolicy(**policy)}
    )
    return defs.get_sensor_def("flights_retrain_sensor")(context)


@dg.op
def _noop() -> None:
    return None


@dg.job
def _retrain_stand_in() -> None:
    _noop()


def test_a_schedule_retrains_every_n_days_after_the_last_retrain(
    defs: dg.Definitions, in_memory: dg.DagsterInstance
) -> None:
    _judge(in_memory, 0, 28)  # May 1 … May 29: 28 days judged after the first
    assert not _tick(defs, in_memory, every_days=30).run_requests
    _judge(in_memory, 29, 33)  # … June 3
    assert not _tick(defs, in_memory, every_days=0).run_requests, "every_days 0: no schedule"
    assert _tick(defs, in_memory).run_requests, "the shipped spec retrains every 28 days"
    (request,) = _tick(defs, in_memory, every_days=30).run_requests
    assert request.tags["factory/trigger"] == SCHEDULE
    assert request.tags[TRIGGER_DAY_TAG] == "2013-06-03"  # the newest judged day
    # a retrain ran (as the sensor's run is tagged); the schedule restarts from its day
    tags = {RETRAIN_TAG: "flights", TRIGGER_DAY_TAG: "2013-06-03"}
    assert _retrain_stand_in.execute_in_process(instance=in_memory, tags=tags).success
    _judge(in_memory, 34, 62)  # … July 2: 29 days after it
    skipped = _tick(defs, in_memory, every_days=30)
    assert not skipped.run_requests and "29 so far" in skipped.skip_reason.skip_message
    _judge(in_memory, 63, 63)
    (request,) = _tick(defs, in_memory, every_days=30).run_requests
    assert request.tags[TRIGGER_DAY_TAG] == "2013-07-03"


def test_a_schedule_counts_batches_and_waits_for_a_retrain_in_flight() -> None:
    order = ["b01", "b02", "b03", "b04", "b05"]

    def elapsed(later: str, earlier: str) -> int:
        return order.index(later) - order.index(earlier)

    assert not decide_scheduled("b04", False, "b01", 4, elapsed).retrain
    due = decide_scheduled("b05", False, "b01", 4, elapsed)
    assert due.retrain and due.trigger.day == "b05" and due.trigger.check == SCHEDULE
    assert not decide_scheduled("b05", True, "b01", 4, elapsed).retrain
    assert not decide_scheduled("b05", False, "b01", 0, elapsed).retrain
