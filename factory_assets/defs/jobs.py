"""Jobs of the line."""

import dagster as dg

from factory_assets.defs.resources import LandingZone, TrackingStore
from factory_assets.partitions import DAILY

# Every model spec tags its scoring and monitoring stations (components/model_line/).
SCORING = dg.AssetSelection.tag("factory/line", "scoring")
MONITORING = dg.AssetSelection.tag("factory/line", "monitoring")
# what the models read each day (flight_features, dbt feature views): their scoring's inputs
MODEL_INPUTS = SCORING.upstream(depth=1) - dg.AssetSelection.groups("packaging") - SCORING

factory_line = dg.define_asset_job(
    "factory_line",
    selection=dg.AssetSelection.groups(
        "ingest", "warehouse", "quality", "features", "models", "packaging"
    )
    - dg.AssetSelection.tag("factory/segmented", "true"),  # per-segment models: their own jobs
    description=(
        "Landing files → raw tables → dbt warehouse (with its tests) → GX suites → "
        "flight_features → training → holdout evaluation → ONNX package, registry and gate. "
        "Run over a partition range as a single-run backfill."
    ),
)

score_flights = dg.define_asset_job(
    "score_flights",
    selection=SCORING,
    description="Score days with every model's current champion.",
)


class Rollback(dg.Config):
    """Who rolls back which model, and why (kept in the registry)."""

    model: str = "flights"
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


# What a new day changes; dimensions follow their reference snapshots, not the days.
DAILY_LINE_ASSETS = [
    "raw_flights",
    "raw_weather",
    "raw_outcomes",
    "stg_nycflights__flights",
    "stg_nycflights__weather",
    "stg_nycflights__outcomes",
    "fct_flights",
    "fct_weather_hourly",
    "flight_features",
]

daily_line = dg.define_asset_job(
    "daily_line",
    selection=dg.AssetSelection.assets(*DAILY_LINE_ASSETS) | MODEL_INPUTS | SCORING | MONITORING,
    partitions_def=DAILY,
    description=(
        "One landed day through the line: the day's schedule, weather and the outcomes of the "
        "day before → dbt warehouse and suites → features → scoring with the champion → drift "
        "report and the performance of yesterday's predictions. Monitoring checks that fail "
        "make flights_retrain_sensor retrain."
    ),
)


@dg.schedule(
    job=daily_line,
    cron_schedule="0 6 * * *",
    execution_timezone="America/New_York",
    default_status=dg.DefaultScheduleStatus.STOPPED,
)
def daily_line_schedule(
    context: dg.ScheduleEvaluationContext, landing: LandingZone
) -> dg.RunRequest | dg.SkipReason:
    """Every morning, run the line for the newest day that has landed (once per day)."""
    newest = landing.newest_day("flights")
    if newest is None:
        return dg.SkipReason(f"nothing has landed under {landing.root}")
    return dg.RunRequest(run_key=f"daily-{newest}", partition_key=newest.isoformat())
