"""<model>_monitoring_summary: the story so far — drift, the served metric, retrains, the gate."""

import base64

import dagster as dg

from factory_assets.components.model_line.automation import RETRAIN_TAG, TRIGGER_DAY_TAG
from factory_assets.lib.model_line import ModelLine
from factory_assets.lib.tasks import metric_label
from factory_assets.resources import ReportStore, TrackingStore, Warehouse


def retrains(instance: dg.DagsterInstance, tracking: TrackingStore, line: ModelLine) -> list:
    """The sensor's retrain runs of ``line``, oldest first, with the gate's decision."""
    from factory_assets.lib.replay_report import Retrain

    names = [line.registry_name(s) for s in (line.segments.values if line.segments else [None])]
    runs = [
        r for n in names for r in instance.get_runs(filters=dg.RunsFilter(tags={RETRAIN_TAG: n}))
    ]
    client = tracking.registry().client
    by_run = {}
    for name in names:
        for v in client.search_model_versions(f"name='{name}'"):
            by_run[v.tags.get("dagster_run_id")] = v
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


def build_summary(spec, line: ModelLine) -> dg.AssetsDefinition:  # noqa: ANN001
    """The ``<model>_monitoring_summary`` asset of ``line``."""
    min_rows = spec.monitoring.performance.min_rows  # as the performance check counts days
    task = line.task
    primary = metric_label(task.primary)

    @dg.asset(
        name=line.asset("monitoring_summary"),
        deps=[line.asset("drift_report"), line.asset("prediction_performance")],
        group_name="monitoring",
        kinds={"matplotlib", "duckdb"},
        owners=list(spec.owners),
        tags={"factory/model": line.name},
        description=(
            f"The {line.name} monitoring story so far, with a plot: days monitored, retrains "
            f"and why, promotions vs rejections, the daily {primary} of served predictions by "
            f"month, with the task's other metrics (days with at least {min_rows} labelled "
            f"predictions of {line.columns.label}); the PNG plots daily {primary} and drifted "
            "share with the retrains marked."
        ),
    )
    def _summary(
        context: dg.AssetExecutionContext,
        duckdb: Warehouse,
        tracking: TrackingStore,
        reports: ReportStore,
    ) -> dg.MaterializeResult:
        from factory_assets.lib.replay_report import judged, plot, read_history, summary_text

        with duckdb.get_connection() as conn:
            performance, drift = read_history(conn, line.performance_table, line.drift_table, task)
        history = retrains(context.instance, tracking, line)
        label, path = line.columns.label, reports.path(line.name, "monitoring_summary.png")
        text = summary_text(performance, drift, history, label, min_rows, task)
        bound = spec.performance_floors().get(task.primary)
        png = plot(performance, drift, history, path, line.name, label, min_rows, task, bound)
        image = base64.b64encode(png.read_bytes()).decode()
        served = judged(performance, min_rows, task.primary)
        return dg.MaterializeResult(
            metadata={
                "summary": dg.MetadataValue.md(f"```\n{text}\n```"),
                "plot": dg.MetadataValue.md(
                    f"![daily {primary} and drift](data:image/png;base64,{image})"
                ),
                "plot_path": dg.MetadataValue.path(str(png)),
                "retrains": len(history),
                "promotions": sum(r.decision == "promoted" for r in history),
                "days_monitored": drift.height,
                "performance": f"{served.height} period(s) judged"
                if served.height
                else f"not judged yet: no period with {min_rows} labelled predictions "
                f"(labels land {line.label_lag} period(s) after serving)",
                f"mean_served_{task.primary}": float(served[task.primary].mean() or 0),
            }
        )

    return _summary
