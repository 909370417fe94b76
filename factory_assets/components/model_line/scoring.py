"""<model>_predictions: each period's (batch's) rows scored by the champion (per segment)."""

import dagster as dg
import polars as pl

from factory_assets.components.model_line.common import period_tags, periods
from factory_assets.execution import warehouse_step
from factory_assets.lib.model_line import ModelLine
from factory_assets.lib.scoring import champions, partition_values, score
from factory_assets.lib.warehouse import replace_partitions
from factory_assets.metadata import table_metadata
from factory_assets.resources import TrackingStore, Warehouse

# what a row of the predictions table holds, per task
SERVED = {
    "binary": "probability",
    "regression": "predicted value",
    "multiclass": "predicted class (with every class's probability)",
}


def served_summary(scored: pl.DataFrame, line: ModelLine) -> dict:
    """The run's served predictions in a number or two: mean probability, mean value, shares."""
    if scored.height == 0:
        return {"mean_prediction" if line.task.kind == "regression" else "mean_probability": 0.0}
    if line.task.kind == "regression":
        return {"mean_prediction": float(scored["prediction"].mean() or 0.0)}
    summary = {"mean_probability": float(scored["probability"].mean() or 0.0)}
    if line.task.kind == "multiclass":
        counts = dict(scored["prediction"].value_counts().iter_rows())
        share = {c: counts.get(c, 0) / max(scored.height, 1) for c in line.task.classes}
        summary["predicted_share"] = ", ".join(f"{c} {v:.1%}" for c, v in share.items())
    return summary


def build_predictions(spec, line: ModelLine) -> dg.AssetsDefinition:  # noqa: ANN001
    """The ``<model>_predictions`` asset of ``line``, a partition per period (or batch)."""

    @dg.asset(
        name=line.predictions,
        deps=[
            line.features,
            # a period is scored by every segment's champion: each period needs all segments
            dg.AssetDep(line.asset("package"), partition_mapping=dg.AllPartitionMapping())
            if line.segments
            else line.asset("package"),
        ],
        partitions_def=periods(line),
        backfill_policy=dg.BackfillPolicy.single_run(),
        output_required=False,
        group_name="serving",
        kinds={"onnx", "duckdb"},
        owners=list(spec.owners),
        tags=period_tags(line, "scoring"),
        description=(
            f"{spec.description}\n\nThe {SERVED[line.task.kind]} for every row of the period, "
            "from the champion's ONNX package through onnxruntime"
            + (
                f" of its {line.segments.column} (or the fallback {line.segments.fallback})"
                if line.segments
                else ""
            )  # fmt: skip
            + ", each row with the model and version that made it; a period (batch) is replaced "
            "whole."
        ),
        **warehouse_step(),
    )
    def _predictions(context: dg.AssetExecutionContext, duckdb: Warehouse, tracking: TrackingStore):  # noqa: ANN202 (yields its materialization, or nothing before the first champion)
        keys = list(context.partition_keys)
        with duckdb.get_connection() as conn:
            features = conn.sql(line.periods_sql(), params=line.params(keys)).pl()
            present = features[line.segments.column].unique().to_list() if line.segments else [None]
            models = champions(tracking, line, present)
            if models is None:  # a model just added: the line goes on; its monitoring waits
                fallback = f" (or its fallback {line.segments.fallback})" if line.segments else ""
                context.log.warning(
                    f"{line.name}{fallback} has no champion yet: nothing scored; materialize "
                    f"{line.asset('package')} to start serving"
                )
                return
            scored = score(features, line, models)
            replace_partitions(
                conn,
                [(line.predictions, scored)],
                line.partition_column,
                partition_values(line, keys),
            )
            metadata = table_metadata(conn, line.predictions)
        versions = sorted({f"{n} v{v}" for n, v, _, _ in models.values()})
        yield dg.MaterializeResult(
            metadata={
                **metadata,
                "model_version": ", ".join(versions),
                "rows_scored": scored.height,
                "fallback_rows": int(scored["fallback"].sum()) if scored.height else 0,
                **served_summary(scored, line),
            }
        )

    return _predictions
