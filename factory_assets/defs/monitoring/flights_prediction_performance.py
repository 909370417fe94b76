"""flights_prediction_performance: served predictions judged once their labels have landed."""

import datetime as dt

import dagster as dg
import polars as pl
from dagster_duckdb import DuckDBResource

from factory_assets.execution import warehouse_step
from factory_assets.lib.warehouse import replace_partitions
from factory_assets.partitions import DAILY

PERFORMANCE_CHECK = "performance_above_floor"
# Partition T evaluates the flights of T - 1: their outcomes are delivered on T.
LABELLED_PREDICTIONS_SQL = (
    "select p.probability, p.model_version, t.is_late from flight_predictions p "
    "join fct_flights t using (flight_id) where p.flight_date = ? and t.has_outcome"
)
PREVIOUS_DAY = dg.TimeWindowPartitionMapping(start_offset=-1, end_offset=-1)


class PerformanceSettings(dg.Config):
    """The floor a day's served predictions must reach once labelled."""

    min_auc: float = 0.58
    max_brier: float = 0.25
    min_rows: int = 100  # fewer labelled flights say nothing about the model


@dg.asset(
    deps=[
        dg.AssetDep("flight_predictions", partition_mapping=PREVIOUS_DAY),
        "fct_flights",
        "raw_outcomes",
    ],
    partitions_def=DAILY,
    group_name="monitoring",
    kinds={"duckdb"},
    owners=["team:ml-platform"],
    check_specs=[
        dg.AssetCheckSpec(
            PERFORMANCE_CHECK,
            asset="flights_prediction_performance",
            partitions_def=DAILY,
            description="AUC of the day's served predictions at or above the floor, Brier at "
            "or under the ceiling, once their labels have landed.",
        )
    ],
    **warehouse_step(),
)
def flights_prediction_performance(
    context: dg.AssetExecutionContext, config: PerformanceSettings, duckdb: DuckDBResource
):  # noqa: ANN201 (yields a materialization and a check result)
    """AUC and Brier of the predictions served for the flights of the day before.

    Partition T is computed when T's outcome delivery lands, and judges the predictions made
    for the flights of T - 1 against what happened to them. One row per day in table
    flights_performance.
    """
    from factory_assets.lib.evaluation import binary_metrics

    landed = dt.date.fromisoformat(context.partition_key)
    day = landed - dt.timedelta(days=1)
    with duckdb.get_connection() as conn:
        frame = conn.sql(LABELLED_PREDICTIONS_SQL, params=[day]).pl()
    labelled = frame.filter(pl.col("is_late").is_not_null())
    metrics = binary_metrics(
        labelled["is_late"].cast(pl.Int8).to_numpy(), labelled["probability"].to_numpy()
    )
    versions = sorted(set(frame["model_version"].to_list()))
    row = pl.DataFrame(
        {
            "day": [day],
            "labels_landed_on": [landed],
            "rows": [labelled.height],
            "auc": [metrics["auc"]],
            "brier": [metrics["brier"]],
            "log_loss": [metrics["log_loss"]],
            "late_rate": [metrics["positive_rate"]],
            "mean_prediction": [metrics["mean_prediction"]],
            "model_version": [",".join(versions)],
        }
    )
    with duckdb.get_connection() as conn:
        replace_partitions(conn, [("flights_performance", row)], "day", [day])
    evaluated = labelled.height >= config.min_rows
    passed = not evaluated or (
        metrics["auc"] >= config.min_auc and metrics["brier"] <= config.max_brier
    )
    yield dg.MaterializeResult(
        metadata={
            "flight_date": day.isoformat(),
            "labelled_rows": labelled.height,
            "auc": metrics["auc"],
            "brier": metrics["brier"],
            "late_rate": metrics["positive_rate"],
            "mean_prediction": metrics["mean_prediction"],
            "model_version": ",".join(versions) or "(none served)",
        }
    )
    detail = (
        f"AUC {metrics['auc']:.3f} (floor {config.min_auc}), "
        f"Brier {metrics['brier']:.3f} (ceiling {config.max_brier})"
        if evaluated
        else f"only {labelled.height} labelled predictions: not evaluated"
    )
    yield dg.AssetCheckResult(
        check_name=PERFORMANCE_CHECK,
        passed=passed,
        metadata={"day": day.isoformat(), "evaluated": evaluated, "detail": detail},
    )
