"""Jobs of the line, built per dataset from the source specs, and the rollback job.

For each dataset with a calendar (lib/sources.py) the source specs give:
- ``<dataset>_line``: its landing files → raw tables → dbt warehouse (with its tests) → GX
  suites → features → training → holdout evaluation → package, registry and gate; run over a
  range of periods as one run (single-run backfill);
- ``<dataset>_<grain>_line``: one landed period through the line, from ingest to the scoring
  and monitoring of every model on the dataset's calendar, and its schedule;
- ``score_<dataset>``: score periods with each of its models' current champion.
A source missing a period stops only its own dataset's jobs.

A batched dataset (batch sources, no time axis) has the same ``<dataset>_line`` and
``score_<dataset>`` over its batches (dynamic partitions), ``<dataset>_batch_line`` for one batch
and, instead of a schedule, ``<dataset>_batch_sensor``: it adds each newly landed batch to the
partitions and runs ``<dataset>_batch_line`` for it.
"""

import dagster as dg

from factory_assets.lib.sources import Dataset
from factory_assets.partitions import batches_for, partitions_for
from factory_assets.resources import LandingZone, TrackingStore
from factory_assets.settings import settings

# Every model spec tags its scoring and monitoring stations (components/model_line/).
SCORING = dg.AssetSelection.tag("factory/line", "scoring")
MONITORING = dg.AssetSelection.tag("factory/line", "monitoring")
BUILD_GROUPS = ("ingest", "warehouse", "quality", "features", "models", "packaging")
PERIOD_GROUPS = ("ingest", "warehouse", "quality", "features")
SEGMENTED = dg.AssetSelection.tag("factory/segmented", "true")  # per-segment: their own jobs
CRONS = {
    "hourly": "15 * * * *",
    "daily": "0 6 * * *",
    "weekly": "0 6 * * 1",
    "monthly": "0 6 1 * *",
}


def line_job(dataset: Dataset) -> str:
    """Name of the job that builds ``dataset``'s line over a range of periods."""
    return f"{dataset.name}_line"


def period_job(dataset: Dataset) -> str:
    """Name of the job that takes one period (batch) of ``dataset`` from ingest to monitoring."""
    grain = "batch" if dataset.batched else dataset.calendar.grain
    return f"{dataset.name}_{grain}_line"


def period_build(dataset: Dataset) -> dg.AssetSelection:
    """What a new period of ``dataset`` changes before scoring: raw tables to features.

    Dimensions follow their snapshots, not the periods, so they are left out.
    """
    raws = dg.AssetSelection.assets(*(f"raw_{s.name}" for s in dataset.periodic + dataset.batched))
    mine = dg.AssetSelection.tag("factory/dataset", dataset.name)
    inputs = (SCORING & mine).upstream(depth=1) - dg.AssetSelection.groups("packaging")
    return (raws.downstream() & dg.AssetSelection.groups(*PERIOD_GROUPS)) | (inputs - SCORING)


def scoring(dataset: Dataset) -> dg.AssetSelection:
    """The scoring assets of the models on ``dataset``'s calendar."""
    return SCORING & dg.AssetSelection.tag("factory/dataset", dataset.name)


def monitoring(dataset: Dataset) -> dg.AssetSelection:
    """The monitoring assets of the models on ``dataset``'s calendar."""
    return MONITORING & dg.AssetSelection.tag("factory/dataset", dataset.name)


def _line(dataset: Dataset, partitions: dg.PartitionsDefinition, unit: str) -> dg.JobDefinition:
    raws = dg.AssetSelection.assets(*(f"raw_{s.name}" for s in dataset.sources))
    return dg.define_asset_job(
        line_job(dataset),
        selection=(raws.downstream() & dg.AssetSelection.groups(*BUILD_GROUPS)) - SEGMENTED,
        partitions_def=partitions,
        description=(
            f"{dataset.name}: landing files → raw tables → dbt warehouse (with its tests) → GX "
            "suites → features → training → holdout evaluation → ONNX package, registry and "
            f"gate. Run over a range of {unit} as a single-run backfill."
        ),
    )


def _score(dataset: Dataset, partitions: dg.PartitionsDefinition, unit: str) -> dg.JobDefinition:
    return dg.define_asset_job(
        f"score_{dataset.name}",
        selection=scoring(dataset),
        partitions_def=partitions,
        description=f"Score {unit} of {dataset.name} with every model's current champion.",
    )


def _jobs(dataset: Dataset) -> list:
    if dataset.batched:
        return _batch_jobs(dataset)
    partitions = partitions_for(dataset.calendar)
    line = _line(dataset, partitions, "periods")
    grain = dataset.calendar.grain
    period = dg.define_asset_job(
        period_job(dataset),
        selection=period_build(dataset) | scoring(dataset) | monitoring(dataset),
        partitions_def=partitions,
        description=(
            f"One landed {grain} period of {dataset.name} through the line: raw tables → dbt "
            "warehouse and suites → features → scoring with each champion → drift report and "
            "the performance of predictions whose labels landed. Failed monitoring checks make "
            "the models' retrain sensors retrain."
        ),
    )
    score = _score(dataset, partitions, "periods")

    @dg.schedule(
        name=f"{period_job(dataset)}_schedule",
        job=period,
        cron_schedule=CRONS[grain],
        execution_timezone=dataset.calendar.timezone,
        default_status=dg.DefaultScheduleStatus.STOPPED,
    )
    def _schedule(
        context: dg.ScheduleEvaluationContext, landing: LandingZone
    ) -> dg.RunRequest | dg.SkipReason:
        """Run the line for the newest period every source of the dataset has landed."""
        return landing.newest_run(dataset, dataset.name)

    return [line, period, score, _schedule]


def _batch_jobs(dataset: Dataset) -> list:
    partitions = batches_for(dataset.name)
    batch = dg.define_asset_job(
        period_job(dataset),
        selection=period_build(dataset) | scoring(dataset) | monitoring(dataset),
        partitions_def=partitions,
        description=(
            f"One landed batch of {dataset.name} through the line: raw tables → dbt warehouse "
            "and suites → features → scoring with each champion → drift report and the "
            "performance of predictions whose labels landed. Started by "
            f"{dataset.name}_batch_sensor for each new batch."
        ),
    )
    line, score = _line(dataset, partitions, "batches"), _score(dataset, partitions, "batches")
    return [line, batch, score, batch_sensor(dataset, batch)]


def batch_sensor(dataset: Dataset, job: dg.JobDefinition) -> dg.SensorDefinition:
    """``<dataset>_batch_sensor``: each newly landed batch becomes a partition and a run."""
    partitions = batches_for(dataset.name)

    @dg.sensor(
        name=f"{dataset.name}_batch_sensor",
        job=job,
        minimum_interval_seconds=settings().sensor_interval_s,
        default_status=dg.DefaultSensorStatus.STOPPED,  # as the periodic datasets' schedules
        description=(
            f"Add each batch every batch source of {dataset.name} has landed (a file each) to "
            f"the {partitions.name} partitions, and run {job.name} for it."
        ),
    )
    def _sensor(context: dg.SensorEvaluationContext, landing: LandingZone) -> dg.SensorResult:
        known = set(context.instance.get_dynamic_partitions(partitions.name))
        new = [b for b in landing.landed_batches(dataset) if b not in known]
        if not new:
            return dg.SensorResult(skip_reason=f"no new batch of {dataset.name} has landed")
        return dg.SensorResult(
            run_requests=[
                dg.RunRequest(run_key=f"{dataset.name}-{b}", partition_key=b) for b in new
            ],
            dynamic_partitions_requests=[partitions.build_add_request(new)],
        )

    return _sensor


class Rollback(dg.Config):
    """Who rolls back which model, and why (kept in the registry)."""

    model: str
    reason: str
    who: str


@dg.op
def move_champion_back(
    context: dg.OpExecutionContext, config: Rollback, tracking: TrackingStore
) -> None:
    """Point ``champion`` at the version it replaced, recording who and why."""
    demoted, restored = tracking.registry().rollback(config.model, config.who, config.reason)
    context.log.info(f"{config.model}: champion {demoted} -> {restored} ({config.reason})")


@dg.job(description="Move a model's champion alias back to the previous version.")
def rollback_champion() -> None:
    """One op: the registry move."""
    move_champion_back()


@dg.definitions
def jobs(context: dg.ComponentLoadContext) -> dg.Definitions:
    """The jobs, schedules and sensors of every dataset with periods or batches, and rollback."""
    from factory_assets.components.landing_source import source_datasets

    known = source_datasets(context.component_tree)  # the specs this load already parsed
    built = [j for d in known.values() if d.partitioned for j in _jobs(d)]
    return dg.Definitions(
        jobs=[j for j in built if not isinstance(j, dg.ScheduleDefinition | dg.SensorDefinition)]
        + [rollback_champion],
        schedules=[j for j in built if isinstance(j, dg.ScheduleDefinition)],
        sensors=[j for j in built if isinstance(j, dg.SensorDefinition)],
    )
