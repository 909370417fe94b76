"""A model's jobs and sensors: failed monitoring checks retrain it; a promotion re-scores."""

import datetime as dt
from collections.abc import Iterator

import dagster as dg

from factory_assets.components.model_line.common import periods, segment_partitions
from factory_assets.components.model_line.signals import SIGNALS, judged, new_failures, point
from factory_assets.components.model_spec import MANIFEST
from factory_assets.lib import monitoring as mon
from factory_assets.lib.catalog import materialization
from factory_assets.lib.model_line import ModelLine
from factory_assets.resources import LandingZone, RetrainPolicy
from factory_assets.settings import settings

RETRAIN_TAG, TRIGGER_DAY_TAG = "factory/retrain", "factory/trigger_day"
PAGE = 100  # records read per storage query
NOT_FINISHED = [
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.CANCELING,
]


def batch_distance(instance: dg.DagsterInstance, line: ModelLine):  # noqa: ANN201
    """``elapsed(later, earlier)`` of a batched line: batches between two keys, in key order."""
    order = sorted(instance.get_dynamic_partitions(line.batches))
    position = {key: i for i, key in enumerate(order)}

    def elapsed(later: str, earlier: str) -> int:
        return position.get(later, len(order)) - position.get(earlier, -1)

    return elapsed


def new_materializations(
    instance: dg.DagsterInstance, key: dg.AssetKey, cursor: int
) -> Iterator[dg.EventLogRecord]:
    """Every materialization of ``key`` stored after ``cursor``, oldest first, page by page."""
    page = None
    while True:
        result = instance.fetch_materializations(
            dg.AssetRecordsFilter(key, after_storage_id=cursor or None),
            limit=PAGE,
            cursor=page,
            ascending=True,
        )
        yield from result.records
        if not result.has_more:
            return
        page = result.cursor


def rescore_request(
    instance: dg.DagsterInstance, line: ModelLine, event: dg.EventLogEntry
) -> dg.RunRequest | dg.SkipReason:
    """A re-score of the day whose failure started the retrain that promoted this package."""
    if not event.asset_materialization.metadata["promoted"].value:
        return dg.SkipReason("the new version was not promoted")
    run = instance.get_run_by_id(event.run_id)
    day = run.tags.get(TRIGGER_DAY_TAG) if run else None
    if day is None:
        return dg.SkipReason("promotion outside a retrain: no day to re-score")
    return dg.RunRequest(
        run_key=f"{line.name}-rescore-{event.run_id}",
        partition_key=day,
        tags={"factory/rescore": line.name, TRIGGER_DAY_TAG: day},
    )


def _retrain_state(instance: dg.DagsterInstance, line: ModelLine, name: str) -> tuple[bool, object]:
    tags = {RETRAIN_TAG: name}
    in_flight = instance.get_runs(filters=dg.RunsFilter(tags=tags, statuses=NOT_FINISHED), limit=1)
    last = instance.get_runs(filters=dg.RunsFilter(tags=tags), limit=1)
    last_day = point(line, last[0].tags[TRIGGER_DAY_TAG]) if last else None
    return bool(in_flight), last_day


def registry_segments(line: ModelLine) -> list[str | None]:
    """The segments a line registers a model for (``[None]``: one model, the line's own)."""
    return list(line.segments.values) if line.segments else [None]


def effective_policy(spec, policy: RetrainPolicy) -> dict:  # noqa: ANN001
    """The spec's retrain settings, overridden where the resource sets a value."""
    values = spec.monitoring.retrain.model_dump()
    return {
        k: v if getattr(policy, k, None) is None else getattr(policy, k) for k, v in values.items()
    }


def retrain_request(
    line: ModelLine, name: str, failure, reason: str, policy: dict
) -> dg.RunRequest:  # noqa: ANN001
    """A retrain of ``name`` on the newest labelled windows before the failed day.

    A model without a time axis keeps its key-hash split: the retrain reads every labelled row
    landed by now, in the same training, validation and holdout buckets.
    """
    if line.split is not None:
        windows = line.split.windows()  # ISO dates, as the configs take them
    else:
        w = mon.windows_before(
            failure.day,
            policy["train_days"],
            policy["val_days"],
            policy["holdout_days"],
            # the newest labelled day before the failed one (its own labels may be in)
            labelled_through=min(
                failure.day - dt.timedelta(days=1), line.labelled_through(failure.day)
            ),
        )
        windows = {k: v if isinstance(v, int) else str(v) for k, v in vars(w).items()}
    holdout = {k: windows[k] for k in ("holdout_start", "holdout_end")}
    train = {k: windows[k] for k in ("train_start", "train_end", "val_days")}
    segment = name.removeprefix(f"{line.name}-") if line.segments else None
    return dg.RunRequest(
        run_key=f"{name}-retrain-{failure.day}",
        partition_key=segment,
        run_config={
            "ops": {
                line.asset("model"): {"config": train},
                line.asset("evaluation"): {"config": holdout},
                line.asset("package"): {"config": holdout},
            }
        },
        tags={
            RETRAIN_TAG: name,
            TRIGGER_DAY_TAG: str(failure.day),
            "factory/trigger": failure.check,
            "factory/trigger_detail": reason[:250],
        },
    )


def retrain_features(line: ModelLine) -> tuple[list[str], str]:
    """The features asset a retrain rebuilds (none or one), and the description's first step.

    A dbt view is left out: it is computed on every read, and re-creating it costs a dbt run
    (most of a small retrain). A segmented line's retrain is partitioned by segment, the
    features asset is not: it reads them as the daily runs left them.
    """
    if line.segments:
        return [], f"Read {line.features} as it stands (not partitioned by segment)"
    if materialization(MANIFEST, line.features) == "view":
        return [], f"Read {line.features} (a dbt view, computed on read: not rebuilt)"
    return [line.features], f"Rebuild {line.features} for the new windows"


def build_jobs(spec, line: ModelLine) -> list:  # noqa: ANN001
    """retrain_<model>, rescore_<model>; <model>_scoring and its schedule if the spec has one."""
    chain = [line.asset(s) for s in ("model", "evaluation", "package")]
    features, first = retrain_features(line)
    retrain = dg.define_asset_job(
        f"retrain_{line.name}",
        selection=dg.AssetSelection.assets(*features, *chain),
        partitions_def=segment_partitions(line),
        description=f"{first} → retrain {line.name} on new windows → holdout evaluation → "
        f"package and gate. Started by {line.name}_retrain_sensor with the windows in its run "
        "config.",
    )
    rescore = dg.define_asset_job(
        f"rescore_{line.name}",
        selection=dg.AssetSelection.assets(line.predictions, line.asset("drift_report")),
        partitions_def=periods(line),
        description=f"Re-score a period with a newly promoted {line.name} champion; re-check "
        "drift.",
    )
    jobs = [retrain, rescore]
    if spec.schedule:
        daily = dg.define_asset_job(
            f"{line.name}_scoring",
            selection=dg.AssetSelection.assets(
                line.predictions,
                line.asset("drift_report"),
                line.asset("prediction_performance"),
                line.asset("online_snapshot"),  # the service's rows of the same period
            ),
            partitions_def=periods(line),
            description=f"Score the newest landed period of {line.dataset} with {line.name}, "
            "monitor it and refresh its online snapshot.",
        )

        @dg.schedule(
            name=f"{line.name}_schedule",
            job=daily,
            cron_schedule=spec.schedule.cron,
            execution_timezone=spec.schedule.timezone,
            default_status=dg.DefaultScheduleStatus.STOPPED,
        )
        def _schedule(context: dg.ScheduleEvaluationContext, landing: LandingZone):  # noqa: ANN202
            return landing.newest_run(line.landing, line.name)

        jobs += [daily, _schedule]
    return jobs


def build_sensors(spec, line: ModelLine, retrain: dg.JobDefinition, rescore) -> list:  # noqa: ANN001
    """<model>_retrain_sensor and <model>_promotion_sensor."""

    @dg.sensor(
        name=f"{line.name}_retrain_sensor",
        job=retrain,
        minimum_interval_seconds=settings().sensor_interval_s,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=f"Retrain {line.name} when its drift or performance check fails (or, with "
        "monitoring.retrain.on_estimate, when the performance estimated before labels is past a "
        "bound); at most one retrain in flight per model, none within the cool-down (data days, "
        "or batches) of the last. With monitoring.retrain.every_days, also on a schedule.",
    )
    def _retrain(
        context: dg.SensorEvaluationContext, retrain_policy: RetrainPolicy
    ) -> dg.SensorResult:
        policy = effective_policy(spec, retrain_policy)
        signals = {k: policy[k] for k in SIGNALS}
        cursor = int(context.cursor or 0)
        failures, newest = new_failures(context.instance, line, cursor, signals)
        requests, reasons = [], []
        elapsed = batch_distance(context.instance, line) if line.batches else mon.days_between
        every, names = policy["every_days"], {n for n, _ in failures}
        if every:  # a schedule retrains every registered model of the line
            judged_now, first_judged = judged(context.instance, line, cursor)
            names |= {line.registry_name(s) for s in registry_segments(line)}
        for name in sorted(names):
            in_flight, last_day = _retrain_state(context.instance, line, name)
            mine = [f for n, f in failures if n == name]
            decision = mon.decide_retrain(
                mine, in_flight, last_day, policy["cooldown_days"], elapsed
            )
            if every and not decision.retrain:
                since = last_day if last_day is not None else first_judged
                scheduled = mon.decide_scheduled(judged_now, in_flight, since, every, elapsed)
                decision = scheduled if scheduled.retrain or not mine else decision
            reasons.append(f"{name}: {decision.reason}")
            if decision.retrain:
                context.log.info(f"retrain {name}: {decision.reason}")
                requests.append(
                    retrain_request(line, name, decision.trigger, decision.reason, policy)
                )
        if not requests:
            reason = "; ".join(reasons) or "no failed monitoring check"
            return dg.SensorResult(skip_reason=reason, cursor=str(newest))
        return dg.SensorResult(run_requests=requests, cursor=str(newest))

    @dg.sensor(
        name=f"{line.name}_promotion_sensor",
        job=rescore,
        minimum_interval_seconds=settings().sensor_interval_s,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=f"After a retrain promotes a new {line.name} champion, re-score and re-check "
        "the day that caused it.",
    )
    def _promotion(context: dg.SensorEvaluationContext):  # noqa: ANN202
        # every package since the cursor (an asset_sensor would see only the newest of them)
        key = dg.AssetKey(line.asset("package"))
        requests, reasons = [], []
        for record in new_materializations(context.instance, key, int(context.cursor or 0)):
            request = rescore_request(context.instance, line, record.event_log_entry)
            if isinstance(request, dg.RunRequest):
                requests.append(request)
            else:
                reasons.append(request.skip_message)
            context.update_cursor(str(record.storage_id))
        yield from requests or [dg.SkipReason("; ".join(reasons) or f"no new {key.path[-1]}")]

    return [_retrain, _promotion]
