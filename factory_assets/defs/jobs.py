"""Jobs of the line."""

import dagster as dg

factory_line = dg.define_asset_job(
    "factory_line",
    selection=dg.AssetSelection.groups("ingest", "warehouse", "quality", "features"),
    description=(
        "The line so far: landing files → raw tables → dbt warehouse (with its tests) → "
        "GX suites → flight_features. Run over a partition range as a single-run backfill."
    ),
)
