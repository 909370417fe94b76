"""What a model line's retrain asks for: windows, run config, segment partitions, its assets.

And which check failures its sensor sees: every one stored since its last tick.
"""

import datetime as dt
import threading
from pathlib import Path

import dagster as dg
import pytest

from factory_assets.components.model_line.automation import (
    RETRAIN_TAG,
    TRIGGER_DAY_TAG,
    effective_policy,
    retrain_request,
)
from factory_assets.components.model_spec import MANIFEST, ModelSpec
from factory_assets.lib.catalog import warehouse_tables
from factory_assets.lib.monitoring import CheckFailure
from factory_assets.private_api import check_records
from factory_assets.resources import RetrainPolicy

FAILURE = CheckFailure(dt.date(2013, 6, 10), "drift_within_threshold", "drifted share 0.80")
DRIFT = dg.AssetCheckKey(dg.AssetKey("flights_drift_report"), "drift_within_threshold")


def _spec(**extra) -> ModelSpec:  # noqa: ANN003
    return ModelSpec.model_validate(
        {
            "name": "late_by_origin",
            "description": "per-origin late arrivals",
            "data": {
                "features": "flight_features",
                "key": "flight_id",
                "date": "flight_date",
                "label": "is_late",
                "labels_from": "fct_flights",
                "categorical": ["carrier"],
                "numeric": ["sched_hour"],
            },
            "training": {"train_start": "2013-01-01", "train_end": "2013-03-31"},
            "evaluation": {"holdout_start": "2013-04-15", "holdout_end": "2013-04-30"},
            "monitoring": {"retrain": {"cooldown_days": 7, "train_days": 30}},
            **extra,
        }
    )


def test_a_segment_model_retrains_its_own_partition_only() -> None:
    segments = {"column": "origin", "values": ["EWR", "JFK", "LGA"], "fallback": "flights"}
    spec = _spec(segments=segments)
    line = spec.line(Path("late_by_origin.yaml"), warehouse_tables(MANIFEST))
    policy = effective_policy(spec, RetrainPolicy())
    assert policy == {
        "cooldown_days": 7,
        "train_days": 30,
        "val_days": 14,
        "holdout_days": 14,
        "every_days": 0,
        **{"on_drift": True, "on_performance": True, "on_estimate": False},
    }
    request = retrain_request(line, "late_by_origin-JFK", FAILURE, "drift", policy)
    assert request.partition_key == "JFK"
    assert request.tags[RETRAIN_TAG] == "late_by_origin-JFK"
    ops = request.run_config["ops"]
    assert set(ops) == {
        "late_by_origin_model",
        "late_by_origin_evaluation",
        "late_by_origin_package",
    }
    train, holdout = ops["late_by_origin_model"]["config"], ops["late_by_origin_package"]["config"]
    assert holdout == {"holdout_start": "2013-05-27", "holdout_end": "2013-06-09"}
    first, last = (dt.date.fromisoformat(train[k]) for k in ("train_start", "train_end"))
    assert (last - first).days + 1 == 30 and last < dt.date(2013, 5, 27)


def test_the_environment_overrides_every_spec_and_a_single_model_has_no_partition() -> None:
    spec = _spec()
    line = spec.line(Path("late_by_origin.yaml"), warehouse_tables(MANIFEST))
    policy = effective_policy(spec, RetrainPolicy(train_days=3, cooldown_days=0))
    assert policy["train_days"] == 3 and policy["cooldown_days"] == 0
    request = retrain_request(line, "late_by_origin", FAILURE, "drift", policy)
    assert request.partition_key is None and request.tags[RETRAIN_TAG] == "late_by_origin"


def _retrain_keys(defs: dg.Definitions, name: str) -> set[str]:
    job = defs.resolve_job_def(f"retrain_{name}")
    return {k.to_user_string() for k in job.asset_layer.executable_asset_keys}


def test_a_retrain_rebuilds_a_feature_table_but_not_a_dbt_view(defs: dg.Definitions) -> None:
    chain = {"model", "evaluation", "package"}
    assert _retrain_keys(defs, "cancellations") == {f"cancellations_{s}" for s in chain}
    assert "dbt view" in defs.resolve_job_def("retrain_cancellations").description
    assert _retrain_keys(defs, "flights") == {"flight_features", *(f"flights_{s}" for s in chain)}
    assert defs.resolve_job_def("retrain_flights").description.startswith("Rebuild flight_features")


def _tick(defs: dg.Definitions, instance: dg.DagsterInstance, cursor: str | None, **policy):  # noqa: ANN003, ANN202
    context = dg.build_sensor_context(
        instance=instance,
        cursor=cursor,
        # no schedule (the shipped spec's every_days 28): the checks' signals alone
        resources={
            "retrain_policy": RetrainPolicy(**{"cooldown_days": 0, "every_days": 0, **policy})
        },
    )
    return defs.get_sensor_def("flights_retrain_sensor")(context)


def _verdict(day: dt.date, passed: bool) -> dg.AssetCheckEvaluation:
    return dg.AssetCheckEvaluation(
        asset_key=DRIFT.asset_key,
        check_name=DRIFT.name,
        passed=passed,
        partition=day.isoformat(),
        metadata={"drifted_share": 0.1 if passed else 0.9},
    )


@pytest.fixture
def in_memory() -> dg.DagsterInstance:
    """An ephemeral instance: 500 evaluations are stored in 2 s (70 ms each on SQLite files)."""
    with dg.DagsterInstance.ephemeral() as instance:
        yield instance


def test_the_retrain_sensor_sees_a_failure_among_500_evaluations_since_its_last_tick(
    defs: dg.Definitions, in_memory: dg.DagsterInstance
) -> None:
    instance = in_memory
    first = _tick(defs, instance, None)
    assert not first.run_requests
    days = [dt.date(2013, 1, 1) + dt.timedelta(days=i) for i in range(500)]
    failed = days[123]  # 377 evaluations are stored after it: beyond any "newest 200"
    for day in days:
        instance.report_runless_asset_event(_verdict(day, passed=day != failed))
    second = _tick(defs, instance, first.cursor)
    (request,) = second.run_requests
    assert request.tags[TRIGGER_DAY_TAG] == failed.isoformat()
    assert "drifted share 0.90" in request.tags["factory/trigger_detail"]
    assert int(second.cursor) > int(first.cursor or 0)
    assert not _tick(defs, instance, second.cursor).run_requests  # nothing new since


def _slow_drift_check(gate: threading.Event) -> dg.AssetsDefinition:
    """flights_drift_report's check as a run plans it, evaluated (failed) once ``gate`` opens."""
    days = dg.DailyPartitionsDefinition("2013-01-01")

    @dg.multi_asset(
        name="flights_drift_report",
        specs=[dg.AssetSpec(DRIFT.asset_key, partitions_def=days)],
        check_specs=[dg.AssetCheckSpec(DRIFT.name, asset=DRIFT.asset_key, partitions_def=days)],
        partitions_def=days,
        can_subset=True,  # as the period monitors: the check's output is optional
    )
    def _asset(context: dg.AssetExecutionContext):  # noqa: ANN202
        assert gate.wait(60)
        yield dg.MaterializeResult(asset_key=DRIFT.asset_key)
        yield _verdict(dt.date.fromisoformat(context.partition_key), passed=False)

    return _asset


def test_a_check_still_running_at_a_tick_is_seen_once_evaluated(
    defs: dg.Definitions, instance: dg.DagsterInstance
) -> None:
    gate, day = threading.Event(), dt.date(2013, 3, 4)
    job = dg.Definitions(assets=[_slow_drift_check(gate)]).resolve_implicit_global_asset_job_def()
    run = threading.Thread(
        target=job.execute_in_process,
        kwargs={"instance": instance, "partition_key": day.isoformat()},
    )
    run.start()
    try:
        # the run has planned the check (its record exists, still PLANNED) and waits at the gate
        for _ in range(600):
            if check_records(instance, DRIFT):
                break
            threading.Event().wait(0.05)
        (planned,) = check_records(instance, DRIFT)
        assert planned.passed is None
        during = _tick(defs, instance, None)
        assert not during.run_requests
        assert int(during.cursor) < planned.id  # the cursor waits for the verdict
    finally:
        gate.set()
        run.join()
    after = _tick(defs, instance, during.cursor)
    (request,) = after.run_requests
    assert request.tags[TRIGGER_DAY_TAG] == day.isoformat()


@dg.asset(name="flights_package")
def _package(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    """flights_package as a retrain run leaves it: promoted, the run tagged with its day."""
    return dg.MaterializeResult(metadata={"promoted": True})


def test_the_promotion_sensor_rescores_every_promotion_since_its_last_tick(
    defs: dg.Definitions, in_memory: dg.DagsterInstance
) -> None:
    job = dg.Definitions(assets=[_package]).resolve_implicit_global_asset_job_def()
    days = [dt.date(2013, 3, d).isoformat() for d in (4, 5, 6)]
    for day in days:  # three retrains promote between two ticks
        tags = {RETRAIN_TAG: "flights", TRIGGER_DAY_TAG: day}
        assert job.execute_in_process(instance=in_memory, tags=tags).success
    sensor = defs.get_sensor_def("flights_promotion_sensor")
    context = dg.build_sensor_context(instance=in_memory)
    requests = list(sensor(context))
    assert [r.partition_key for r in requests] == days
    again = list(sensor(dg.build_sensor_context(instance=in_memory, cursor=context.cursor)))
    assert [type(r) for r in again] == [dg.SkipReason]


PERFORMANCE = dg.AssetCheckKey(
    dg.AssetKey("flights_prediction_performance"), "performance_above_floor"
)


def _evaluation(key: dg.AssetCheckKey, day: dt.date, passed: bool, **metadata):  # noqa: ANN003, ANN202
    return dg.AssetCheckEvaluation(
        asset_key=key.asset_key,
        check_name=key.name,
        passed=passed,
        partition=day.isoformat(),
        metadata={"failed_models": "(none)" if passed else "flights", **metadata},
    )


@pytest.mark.parametrize(
    ("evaluation", "trigger", "switch"),
    [
        (
            _evaluation(DRIFT, dt.date(2013, 5, 1), False, detail="drift statistic 0.31 > 0.22"),
            "drift_within_threshold",
            "on_drift",
        ),
        (
            _evaluation(PERFORMANCE, dt.date(2013, 5, 1), False, detail="AUC (sequential)"),
            "performance_above_floor",
            "on_performance",
        ),
    ],
    ids=["drift", "performance"],
)
def test_each_failed_check_retrains_unless_its_signal_is_off(  # noqa: PLR0913
    defs: dg.Definitions, in_memory: dg.DagsterInstance, evaluation, trigger, switch
) -> None:
    in_memory.report_runless_asset_event(evaluation)
    (request,) = _tick(defs, in_memory, None).run_requests
    assert request.tags["factory/trigger"] == trigger
    assert request.tags[TRIGGER_DAY_TAG] == "2013-05-01"
    off = _tick(defs, in_memory, None, **{switch: False})
    assert not off.run_requests and "no failed monitoring check" in off.skip_reason.skip_message


def test_an_estimate_past_its_bound_retrains_only_when_the_spec_asks(
    defs: dg.Definitions, in_memory: dg.DagsterInstance
) -> None:
    # the drift check passed; the performance estimated before labels is below the AUC floor
    estimate = {"estimate_failed_models": "flights", "estimated_auc": 0.52, "drifted_share": 0.2}
    in_memory.report_runless_asset_event(_evaluation(DRIFT, dt.date(2013, 5, 2), True, **estimate))
    assert not _tick(defs, in_memory, None).run_requests  # off by default
    (request,) = _tick(defs, in_memory, None, on_estimate=True).run_requests
    assert request.tags["factory/trigger"] == "performance_estimate_past_bound"
    assert "auc 0.520" in request.tags["factory/trigger_detail"]
    assert request.tags[TRIGGER_DAY_TAG] == "2013-05-02"
