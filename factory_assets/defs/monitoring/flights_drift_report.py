"""flights_drift_report: a day's features and predictions against the champion's reference."""

import datetime as dt
from typing import Literal

import dagster as dg
import polars as pl
from dagster_duckdb import DuckDBResource

from factory_assets.defs.packaging.flights_package import MODEL_NAME
from factory_assets.defs.resources import ReportStore, TrackingStore
from factory_assets.execution import warehouse_step
from factory_assets.lib.warehouse import replace_partitions
from factory_assets.partitions import DAILY

DRIFT_CHECK = "drift_within_threshold"
FEATURES_SQL = "select * from flight_features where flight_date between ? and ?"
SCORED_SQL = (
    "select f.*, p.probability as prediction, p.model_version from flight_features f "
    "join flight_predictions p using (flight_id) where f.flight_date = ?"
)


_REFERENCES: dict = {}  # (store, champion version, window) -> (rows, profiles by columns)


class DriftSettings(dg.Config):
    """How much drift the flights model tolerates, and what the report shows."""

    max_drifted_share: float = 0.65  # fails above; a normal day sits near 0.6 (weather, rates)
    column_threshold: float = 0.1  # Evidently's default for Wasserstein and Jensen-Shannon
    # Evidently's HTML report: "always", "drifted" (only when the check fails) or "never";
    # the verdicts never depend on it
    html_report: Literal["always", "drifted", "never"] = "always"
    report_reference_rows: int = 5000  # reference sample shown in the HTML report


def _reference(duckdb: DuckDBResource, tracking: TrackingStore) -> tuple:
    """The champion's version, its training window, and its rows with its own predictions."""
    from factory_assets.lib.scoring import load_alias

    registry = tracking.registry()
    champion = registry.version(MODEL_NAME, "champion")
    if champion is None:
        raise dg.Failure(f"model {MODEL_NAME!r} has no champion: nothing to compare with")
    if "train_start" not in champion.tags:
        raise dg.Failure(f"{MODEL_NAME} v{champion.version} has no train_start/train_end tags")
    window = (champion.tags["train_start"], champion.tags["train_end"])
    key = (tracking.tracking_uri, str(champion.version), window)
    if key not in _REFERENCES:  # one champion's reference is fixed: build it once per process
        _, model = load_alias(registry, MODEL_NAME, "champion")
        with duckdb.get_connection() as conn:
            frame = conn.sql(FEATURES_SQL, params=list(window)).pl()
        frame = frame.with_columns(pl.Series("prediction", model.predict(frame)))
        _REFERENCES.clear()
        _REFERENCES[key] = (frame, {})
    frame, profiles = _REFERENCES[key]
    return champion, window, frame, profiles


def _markdown(table: pl.DataFrame) -> str:
    lines = ["| column | method | score | drifted |", "|---|---|---|---|"]
    for row in table.sort("score", descending=True, nulls_last=True).iter_rows(named=True):
        flag = "**yes**" if row["drifted"] else "no"
        lines.append(f"| {row['column_name']} | {row['method']} | {row['score']:.3f} | {flag} |")
    return "\n".join(lines)


@dg.asset(
    deps=["flight_predictions", "flight_features"],
    partitions_def=DAILY,
    group_name="monitoring",
    kinds={"evidently", "duckdb"},
    owners=["team:ml-platform"],
    check_specs=[
        dg.AssetCheckSpec(
            DRIFT_CHECK,
            asset="flights_drift_report",
            partitions_def=DAILY,
            description="The share of drifted model inputs stays at or under the threshold.",
        )
    ],
    **warehouse_step(),
)
def flights_drift_report(
    context: dg.AssetExecutionContext,
    config: DriftSettings,
    duckdb: DuckDBResource,
    tracking: TrackingStore,
    reports: ReportStore,
):  # noqa: ANN201 (yields a materialization and a check result)
    """Drift of the day's model inputs and predictions from the champion's training data.

    Per-column verdicts are Evidently's (normed Wasserstein / Jensen-Shannon at 0.1) computed
    from a profile of the reference, exactly and at a cost flat in history; the Evidently
    DataDriftPreset HTML report is saved and linked. Scores go to table flights_drift.
    """
    from factory_assets.lib.drift import (
        ReferenceProfile,
        drift_table,
        drifted_share,
        write_evidently_report,
    )
    from factory_assets.lib.monitoring import monitored_columns

    day = dt.date.fromisoformat(context.partition_key)
    version, window, reference, profiles = _reference(duckdb, tracking)
    with duckdb.get_connection() as conn:
        current = conn.sql(SCORED_SQL, params=[day]).pl()
    if current.height == 0:
        raise dg.Failure(f"no scored flights on {day}: materialize flight_predictions first")
    numerical, categorical = monitored_columns()
    columns = (tuple(numerical), tuple(categorical))
    if columns not in profiles:
        profiles[columns] = ReferenceProfile.from_frame(reference, numerical, categorical)
    results = profiles[columns].drift(current, config.column_threshold)
    share = drifted_share(results)
    table = drift_table(results).with_columns(
        pl.lit(day).alias("day"),
        pl.lit(str(version.version)).alias("champion_version"),
        pl.lit(share).alias("drifted_share"),
    )
    with duckdb.get_connection() as conn:
        replace_partitions(conn, [("flights_drift", table)], "day", [day])
    metadata = {
        "drifted_share": share,
        "drifted_columns": ", ".join(r.column for r in results if r.drifted) or "(none)",
        "prediction_drift_score": next(r.score for r in results if r.column == "prediction"),
        "champion_version": str(version.version),
        "reference_window": f"{window[0]} … {window[1]} ({reference.height} rows)",
        "current_rows": current.height,
        "columns": dg.MetadataValue.md(_markdown(table)),
    }
    passed = share <= config.max_drifted_share
    if config.html_report == "always" or (config.html_report == "drifted" and not passed):
        sample = reference.sample(min(config.report_reference_rows, reference.height), seed=0)
        path = reports.path(MODEL_NAME, f"drift_{day}.html")
        write_evidently_report(sample, current, numerical, categorical, path)
        metadata["report"] = dg.MetadataValue.path(str(path))
        metadata["report_url"] = dg.MetadataValue.url(path.as_uri())
    yield dg.MaterializeResult(metadata=metadata)
    yield dg.AssetCheckResult(
        check_name=DRIFT_CHECK,
        passed=passed,
        metadata={
            "day": day.isoformat(),
            "drifted_share": share,
            "max_drifted_share": config.max_drifted_share,
            "drifted_columns": metadata["drifted_columns"],
        },
    )
