"""flights_monitoring_summary: the year so far — drift, served AUC, retrains and the gate."""

import base64

import dagster as dg
import polars as pl
from dagster_duckdb import DuckDBResource

from factory_assets.defs.monitoring.flights_sensors import MODEL, RETRAIN_TAG, TRIGGER_DAY_TAG
from factory_assets.defs.resources import ReportStore, TrackingStore


def retrains(instance: dg.DagsterInstance, tracking: TrackingStore) -> list:
    """The sensor's retrain runs, oldest first, with the gate's decision on their package."""
    from factory_assets.lib.replay_report import Retrain

    runs = instance.get_runs(filters=dg.RunsFilter(tags={RETRAIN_TAG: MODEL}))
    client = tracking.registry().client
    by_run = {
        v.tags.get("dagster_run_id"): v for v in client.search_model_versions(f"name='{MODEL}'")
    }
    out = []
    for run in sorted(runs, key=lambda r: r.tags[TRIGGER_DAY_TAG]):
        version = by_run.get(run.run_id)
        out.append(
            Retrain(
                day=run.tags[TRIGGER_DAY_TAG],
                trigger=run.tags.get("factory/trigger", "?"),
                detail=run.tags.get("factory/trigger_detail", "").split(": ", 1)[-1],
                status=run.status.value.lower(),
                version=None if version is None else str(version.version),
                decision=None if version is None else version.tags.get("gate_decision"),
            )
        )
    return out


@dg.asset(
    deps=["flights_drift_report", "flights_prediction_performance"],
    group_name="monitoring",
    kinds={"matplotlib", "duckdb"},
    owners=["team:ml-platform"],
)
def flights_monitoring_summary(
    context: dg.AssetExecutionContext,
    duckdb: DuckDBResource,
    tracking: TrackingStore,
    reports: ReportStore,
) -> dg.MaterializeResult:
    """The monitoring story so far, with a plot.

    Days monitored, retrains and why, promotions vs rejections, the daily AUC of served
    predictions; the PNG plots daily AUC and drifted share with the retrains marked.
    """
    from factory_assets.lib.replay_report import plot, summary_text

    with duckdb.get_connection() as conn:
        performance = conn.sql("select * from flights_performance order by day").pl()
        drift = conn.sql(
            "select day, any_value(drifted_share) as drifted_share from flights_drift "
            "group by day order by day"
        ).pl()
    history = retrains(context.instance, tracking)
    text = summary_text(performance, drift, history)
    png = plot(performance, drift, history, reports.path(MODEL, "monitoring_summary.png"))
    image = base64.b64encode(png.read_bytes()).decode()
    return dg.MaterializeResult(
        metadata={
            "summary": dg.MetadataValue.md(f"```\n{text}\n```"),
            "plot": dg.MetadataValue.md(f"![daily AUC and drift](data:image/png;base64,{image})"),
            "plot_path": dg.MetadataValue.path(str(png)),
            "retrains": len(history),
            "promotions": sum(r.decision == "promoted" for r in history),
            "days_monitored": drift.height,
            "mean_served_auc": float(performance.filter(pl.col("rows") >= 100)["auc"].mean() or 0),
        }
    )
