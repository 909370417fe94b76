"""<model>_predictions: each period's (batch's) rows scored by the champion (per segment)."""

import datetime as dt

import dagster as dg
import polars as pl
from dagster_duckdb import DuckDBResource

from factory_assets.components.model_line.common import periods
from factory_assets.defs.resources import TrackingStore
from factory_assets.execution import warehouse_step
from factory_assets.lib.model_line import ModelLine
from factory_assets.lib.registry import CHAMPION
from factory_assets.lib.warehouse import replace_partitions
from factory_assets.metadata import table_metadata


def champions(tracking: TrackingStore, line: ModelLine, segments: list) -> dict | None:
    """Segment -> (registered name, version, packaged model, is_fallback); None: no champion."""
    from factory_assets.lib.scoring import load_alias

    registry, loaded, out = tracking.registry(), {}, {}

    def load(name: str) -> tuple | None:
        if name not in loaded:
            loaded[name] = load_alias(registry, name, CHAMPION)
        return loaded[name]

    for segment in segments:
        name = line.registry_name(segment)
        found, fallback = load(name), False
        if found is None and line.segments:
            name, found, fallback = line.segments.fallback, load(line.segments.fallback), True
        if found is None:
            return None
        out[segment] = (name, str(found[0].version), found[1], fallback)
    return out


def score(features: pl.DataFrame, line: ModelLine, models: dict) -> pl.DataFrame:
    """Every row with its probability and the model (and version) that made it."""
    c, parts = line.columns, []
    # a row's partition: its date, or its batch (a batched dataset's predictions carry _batch)
    stamp = pl.col(line.batch_column).alias("_batch") if line.batches else pl.col(c.date)
    groups = (
        features.partition_by(line.segments.column, as_dict=True)
        if line.segments
        else {(None,): features}
    )
    for (segment,), rows in groups.items():
        name, version, model, fallback = models.get(segment) or models[None]
        parts.append(
            rows.select(
                c.key,
                stamp,
                pl.Series("probability", model.predict(rows), dtype=pl.Float32),
                pl.lit(name).alias("model_name"),
                pl.lit(version).alias("model_version"),
                pl.lit(fallback).alias("fallback"),
            )
        )
    scored = pl.concat(parts) if parts else pl.DataFrame()
    scored_at = pl.lit(dt.datetime.now(dt.UTC).replace(tzinfo=None)).alias("scored_at")
    if line.batches:
        return scored.with_columns(scored_at)
    return scored.with_columns(
        scored_at,
        partition_stamp(line),
    )


def partition_stamp(line: ModelLine) -> pl.Expr:
    """A dated row's ``_partition_date``: its day, or its hour (what partition_values lists)."""
    date = pl.col(line.columns.date)
    return (date.dt.truncate("1h") if line.hourly else date.cast(pl.Date)).alias("_partition_date")


def partition_values(line: ModelLine, keys: list[str]) -> list:
    """The partition column's values of a run: every day (or hour) its periods span, or batches."""
    if line.batches:
        return list(keys)
    run = [line.calendar.period(key) for key in keys]
    if line.hourly:
        return [p.start for p in run]
    days = []
    for period in run:
        day = period.first_day
        while day <= period.last_day:
            days.append(day)
            day += dt.timedelta(days=1)
    return days


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
        tags={
            "factory/model": line.name,
            "factory/line": "scoring",
            "factory/dataset": line.dataset,
        },
        description=(
            f"{spec.description}\n\nThe probability for every row of the period, from the "
            "champion's ONNX package through onnxruntime"
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
    def _predictions(
        context: dg.AssetExecutionContext, duckdb: DuckDBResource, tracking: TrackingStore
    ):  # noqa: ANN202 (yields its materialization, or nothing before the first champion)
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
                "mean_probability": float(scored["probability"].mean() or 0.0)
                if scored.height
                else 0.0,
            }
        )

    return _predictions
