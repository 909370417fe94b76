"""Jobs of the line."""

import dagster as dg

from factory_assets.defs.resources import TrackingStore

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
