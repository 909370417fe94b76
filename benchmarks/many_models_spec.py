"""The many-models benchmark's data and spec: route shards of 2013 as segments of one ModelSpec.

A segment is a shard of a route (see bench_many_models.py); ``segment_features`` builds the
table, ``choose_segments`` the values, ``spec_attributes`` the ModelSpec, ``write_warehouse``
the DuckDB file the run reads.
"""

import datetime as dt
from pathlib import Path

import polars as pl

from benchmarks.bench_features_vs_pandas import build_inputs
from factory_assets.lib.features.flights import flight_features

ROWS_PER_SEGMENT = 300
TABLE = "bench_segment_features"
SPEC_NAME = "many_models"
PROJECT_ROOT = Path(__file__).resolve().parents[1]
CATEGORICAL = ["carrier"]
NUMERIC = [
    "sched_hour",
    "sched_weekday",
    "plane_age_years",
    "temperature_f",
    "wind_speed_mph",
    "precipitation_in",
    "visibility_mi",
    "route_late_rate_28d",
    "carrier_late_rate_28d",
]
TRAINING = {
    "train_start": "2013-01-01",
    "train_end": "2013-09-30",
    "val_days": 31,
    "hidden": [8],
    "dropout": 0.0,
    "max_epochs": 2,
    "batch_size": 64,
    "lr": 0.02,
    "seed": 13,
}
EVALUATION = {
    "holdout_start": "2013-11-01",
    "holdout_end": "2013-12-31",
    "min_segment_rows": 20,
}
MIN_ROWS = 200  # training rows under which a segment is served by the fallback
TRAIN_END = dt.date.fromisoformat(TRAINING["train_end"])
VAL_END = TRAIN_END + dt.timedelta(days=TRAINING["val_days"])
HOLDOUT_START = dt.date.fromisoformat(EVALUATION["holdout_start"])


def segment_features() -> pl.DataFrame:
    """flight_features of 2013 with ``is_late`` and ``segment`` (a shard of a route)."""
    flights, weather, planes = build_inputs()
    features = flight_features(flights, flights, weather, planes)
    labels = flights.select("flight_id", "is_late")
    labelled = features.join(labels, on="flight_id").filter(pl.col("is_late").is_not_null())
    shards = (pl.len() / ROWS_PER_SEGMENT).round().clip(lower_bound=1).cast(pl.Int64)
    # round robin in flight_id order (date first): every shard spans the whole year
    shard = pl.int_range(pl.len()).sort_by("flight_id") % shards
    return labelled.with_columns(segment=pl.format("{}-{}", "route", shard.over("route"))).sort(
        "flight_id"
    )


def choose_segments(frame: pl.DataFrame, models: int) -> list[str]:
    """The ``models`` segments with the most training rows and both classes later on.

    A segment without a late and an on-time flight in the validation window or on the
    holdout falls back (it failed the whole run before); they are left out so that every run
    of the benchmark trains, judges and packages the same segments.
    """
    date, late = pl.col("flight_date"), pl.col("is_late")
    val = date.is_between(TRAIN_END + dt.timedelta(days=1), VAL_END)
    holdout = date >= HOLDOUT_START
    table = frame.group_by("segment").agg(
        train=(date <= TRAIN_END).sum(),
        val_late=(val & late).sum(),
        val_on_time=(val & ~late).sum(),
        holdout_late=(holdout & late).sum(),
        holdout_on_time=(holdout & ~late).sum(),
    )
    usable = table.filter(
        pl.min_horizontal("val_late", "val_on_time", "holdout_late", "holdout_on_time") > 0
    )
    chosen = usable.sort(["train", "segment"], descending=[True, False]).head(models)
    if chosen.height < models:
        raise RuntimeError(f"only {chosen.height} usable segments, {models} wanted")
    return sorted(chosen["segment"].to_list())


def spec_attributes(values: list[str], training: dict | None = None) -> dict:
    """The ModelSpec of the benchmark: one tiny model per segment, ``flights`` as fallback.

    ``training``: overrides of TRAINING (a configuration of CONFIGS).
    """
    return {
        "name": SPEC_NAME,
        "description": f"Late arrival per route shard ({len(values)} segments).",
        "data": {
            "features": TABLE,
            "key": "flight_id",
            "date": "flight_date",
            "label": "is_late",
            "dataset": "nycflights",  # a table the benchmark writes: no lineage to read it from
            "categorical": CATEGORICAL,
            "numeric": NUMERIC,
        },
        "training": {**TRAINING, **(training or {})},
        "evaluation": EVALUATION,
        "gate": {"floors": {"auc": 0.55, "brier": 0.25}, "margin": 0.002},
        "segments": {
            "column": "segment",
            "values": values,
            "min_rows": MIN_ROWS,
            "fallback": "flights",
        },
    }


def write_warehouse(path: Path, frame: pl.DataFrame, values: list[str]) -> int:
    """The benchmark table in a fresh lake (``path``: its catalog), the chosen segments' rows."""
    from factory_assets.lib.lake import connect

    rows = frame.filter(pl.col("segment").is_in(values))
    with connect(path) as conn:
        conn.register("rows", rows)
        conn.sql(f"create table {TABLE} as select * from rows")
    return rows.height
