"""Jobs of the line."""

import dagster as dg

from factory_assets.defs.resources import LandingZone, TrackingStore
from factory_assets.partitions import DAILY

factory_line = dg.define_asset_job(
    "factory_line",
    selection=dg.AssetSelection.groups(
        "ingest", "warehouse", "quality", "features", "models", "packaging"
    ),
    description=(
        "Landing files → raw tables → dbt warehouse (with its tests) → GX suites → "
        "flight_features → training → holdout evaluation → ONNX package, registry and gate. "
        "Run over a partition range as a single-run backfill."
    ),
)

score_flights = dg.define_asset_job(
    "score_flights",
    selection=dg.AssetSelection.assets("flight_predictions"),
    description="Score days of flights with the current champion.",
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
    "flight_predictions",
]
MONITORING_ASSETS = ["flights_drift_report", "flights_prediction_performance"]

daily_line = dg.define_asset_job(
    "daily_line",
    selection=DAILY_LINE_ASSETS + MONITORING_ASSETS,
    partitions_def=DAILY,
    description=(
        "One landed day through the line: the day's schedule, weather and the outcomes of the "
        "day before → dbt warehouse and suites → features → scoring with the champion → drift "
        "report and the performance of yesterday's predictions. Monitoring checks that fail "
        "make flights_retrain_sensor retrain."
    ),
)

retrain_flights = dg.define_asset_job(
    "retrain_flights",
    selection=dg.AssetSelection.assets(
        "flight_features", "flights_model", "flights_evaluation", "flights_package"
    ),
    description=(
        "Features → training on new windows → holdout evaluation → package and gate. Started "
        "by flights_retrain_sensor with the windows in its run config."
    ),
)

rescore_flights = dg.define_asset_job(
    "rescore_flights",
    selection=dg.AssetSelection.assets("flight_predictions", "flights_drift_report"),
    partitions_def=DAILY,
    description="Re-score a day with a newly promoted champion and re-check its drift.",
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
