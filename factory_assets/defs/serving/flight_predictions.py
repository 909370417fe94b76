"""flight_predictions: each day's flights scored by the registry's champion."""

import datetime as dt

import dagster as dg
import polars as pl
from dagster_duckdb import DuckDBResource

from factory_assets.defs.packaging.flights_package import MODEL_NAME
from factory_assets.defs.resources import TrackingStore
from factory_assets.execution import warehouse_step
from factory_assets.lib.registry import CHAMPION
from factory_assets.lib.warehouse import replace_partitions
from factory_assets.metadata import table_metadata
from factory_assets.partitions import DAILY


@dg.asset(
    deps=["flight_features", "flights_package"],
    partitions_def=DAILY,
    backfill_policy=dg.BackfillPolicy.single_run(),
    group_name="serving",
    kinds={"onnx", "duckdb"},
    owners=["team:ml-platform"],
    **warehouse_step(),
)
def flight_predictions(
    context: dg.AssetExecutionContext, duckdb: DuckDBResource, tracking: TrackingStore
) -> dg.MaterializeResult:
    """Probability of a late arrival for every flight of the day, from the champion.

    Scored with the champion's ONNX package through onnxruntime, each row with the model
    version that made it; a day is replaced whole.
    """
    from factory_assets.lib.scoring import load_alias

    loaded = load_alias(tracking.registry(), MODEL_NAME, CHAMPION)
    if loaded is None:
        raise dg.Failure(f"model {MODEL_NAME!r} has no champion yet: materialize flights_package")
    champion, model = loaded
    days = [dt.date.fromisoformat(key) for key in context.partition_keys]
    with duckdb.get_connection() as conn:
        features = conn.sql(
            "select * from flight_features where flight_date in (select unnest(?))",
            params=[days],
        ).pl()
        scored = features.select(
            "flight_id",
            "flight_date",
            pl.Series("probability", model.predict(features), dtype=pl.Float32),
            pl.lit(MODEL_NAME).alias("model_name"),
            pl.lit(str(champion.version)).alias("model_version"),
            pl.lit(dt.datetime.now(dt.UTC).replace(tzinfo=None)).alias("scored_at"),
            pl.col("flight_date").alias("_partition_date"),
        )
        replace_partitions(conn, [("flight_predictions", scored)], "_partition_date", days)
        metadata = table_metadata(conn, "flight_predictions")
    return dg.MaterializeResult(
        metadata={
            **metadata,
            "model_version": str(champion.version),
            "rows_scored": scored.height,
            "mean_probability": float(scored["probability"].mean() or 0.0),
        }
    )
