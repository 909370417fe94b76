"""Sensors that close the loop: failed monitoring checks retrain; a promotion re-scores."""

import dagster as dg
from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus

from factory_assets.defs.jobs import rescore_flights, retrain_flights
from factory_assets.defs.monitoring.flights_drift_report import DRIFT_CHECK
from factory_assets.defs.monitoring.flights_prediction_performance import PERFORMANCE_CHECK
from factory_assets.defs.resources import RetrainPolicy, sensor_interval_s
from factory_assets.lib import monitoring as mon

MODEL = "flights"
RETRAIN_TAG, TRIGGER_DAY_TAG = "factory/retrain", "factory/trigger_day"
CHECKS = [
    dg.AssetCheckKey(dg.AssetKey("flights_drift_report"), DRIFT_CHECK),
    dg.AssetCheckKey(dg.AssetKey("flights_prediction_performance"), PERFORMANCE_CHECK),
]
NOT_FINISHED = [
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.CANCELING,
]


def _new_failures(instance: dg.DagsterInstance, cursor: int) -> tuple[list, int]:
    """Failed check evaluations stored after ``cursor``, and the newest storage id seen."""
    failures, newest = [], cursor
    for key in CHECKS:
        for record in instance.event_log_storage.get_asset_check_execution_history(key, 200):
            if record.id <= cursor or record.partition is None:
                continue
            newest = max(newest, record.id)
            if record.status == AssetCheckExecutionRecordStatus.FAILED:
                evaluation = record.event.dagster_event.event_specific_data
                detail = {k: v.value for k, v in evaluation.metadata.items()}
                text = detail.get("detail") or f"drifted share {detail.get('drifted_share'):.2f}"
                failures.append(mon.CheckFailure(mon.parse_day(record.partition), key.name, text))
    return failures, newest


def newest_check_id(instance: dg.DagsterInstance) -> int:
    """Storage id of the newest monitoring check evaluation (0 if none)."""
    return _new_failures(instance, 0)[1]


def _retrain_state(instance: dg.DagsterInstance) -> tuple[bool, object]:
    """Whether a retrain of the model is in flight, and the day the last one was for."""
    tags = {RETRAIN_TAG: MODEL}
    in_flight = instance.get_runs(
        filters=dg.RunsFilter(tags=tags, statuses=NOT_FINISHED),
        limit=1,
    )
    last = instance.get_runs(filters=dg.RunsFilter(tags=tags), limit=1)
    last_day = mon.parse_day(last[0].tags[TRIGGER_DAY_TAG]) if last else None
    return bool(in_flight), last_day


def retrain_request(
    failure: "mon.CheckFailure", reason: str, policy: RetrainPolicy
) -> dg.RunRequest:
    """A retrain of the flights model on the newest labelled windows before the failed day."""
    w = mon.windows_before(failure.day, policy.train_days, policy.val_days, policy.holdout_days)
    holdout = {"holdout_start": str(w.holdout_start), "holdout_end": str(w.holdout_end)}
    train = {
        "train_start": str(w.train_start),
        "train_end": str(w.train_end),
        "val_days": w.val_days,
    }
    return dg.RunRequest(
        run_key=f"{MODEL}-retrain-{failure.day}",
        run_config={
            "ops": {
                "flights_model": {"config": train},
                "flights_evaluation": {"config": holdout},
                "flights_package": {"config": holdout},
            }
        },
        tags={
            RETRAIN_TAG: MODEL,
            TRIGGER_DAY_TAG: str(failure.day),
            "factory/trigger": failure.check,
            "factory/trigger_detail": reason[:250],
        },
    )


@dg.sensor(
    job=retrain_flights,
    minimum_interval_seconds=sensor_interval_s(),
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def flights_retrain_sensor(
    context: dg.SensorEvaluationContext, retrain_policy: RetrainPolicy
) -> dg.SensorResult:
    """Retrain the flights model when its drift or performance check fails.

    At most one retrain in flight, and none within the cool-down (in data days) of the last.
    The request carries the new windows: train, validation and holdout end the day before
    the failed day, whose labels are the newest landed.
    """
    failures, newest = _new_failures(context.instance, int(context.cursor or 0))
    in_flight, last_day = _retrain_state(context.instance)
    decision = mon.decide_retrain(failures, in_flight, last_day, retrain_policy.cooldown_days)
    if not decision.retrain:
        return dg.SensorResult(skip_reason=decision.reason, cursor=str(newest))
    context.log.info(f"retrain {MODEL}: {decision.reason}")
    return dg.SensorResult(
        run_requests=[retrain_request(decision.trigger, decision.reason, retrain_policy)],
        cursor=str(newest),
    )


@dg.asset_sensor(
    asset_key=dg.AssetKey("flights_package"),
    job=rescore_flights,
    minimum_interval_seconds=sensor_interval_s(),
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def flights_promotion_sensor(context: dg.SensorEvaluationContext, asset_event: dg.EventLogEntry):  # noqa: ANN201
    """After a retrain promotes a new champion, re-score and re-check the day that caused it."""
    metadata = asset_event.asset_materialization.metadata
    if not metadata["promoted"].value:
        return dg.SkipReason(f"version {metadata['model_version'].value} was not promoted")
    run = context.instance.get_run_by_id(asset_event.run_id)
    day = run.tags.get(TRIGGER_DAY_TAG) if run else None
    if day is None:
        return dg.SkipReason("promotion outside a retrain: no day to re-score")
    return dg.RunRequest(
        run_key=f"{MODEL}-rescore-{asset_event.run_id}",
        partition_key=day,
        tags={"factory/rescore": MODEL, TRIGGER_DAY_TAG: day},
    )
