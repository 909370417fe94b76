"""Build the stations of one model line from its validated spec."""

import dagster as dg

from factory_assets.components.model_line.automation import build_jobs, build_sensors
from factory_assets.components.model_line.configs import configs
from factory_assets.components.model_line.drift import build_drift_report
from factory_assets.components.model_line.evaluation import build_evaluation
from factory_assets.components.model_line.online import build_online_snapshot
from factory_assets.components.model_line.packaging import build_package
from factory_assets.components.model_line.performance import build_performance
from factory_assets.components.model_line.scoring import build_predictions
from factory_assets.components.model_line.summary import build_summary
from factory_assets.components.model_line.training import build_model
from factory_assets.lib.model_line import ModelLine


def build_line(spec, line: ModelLine) -> dg.Definitions:  # noqa: ANN001 (ModelSpec)
    """Training → evaluation → package/gate → scoring → drift, performance → sensors, jobs."""
    config = configs(spec)
    assets = [
        build_model(spec, line, config["training"]),
        build_evaluation(spec, line, config["holdout"]),
        build_package(spec, line, config["packaging"]),
        build_predictions(spec, line),
        build_online_snapshot(spec, line),
        build_drift_report(spec, line, config["drift"]),
        build_performance(spec, line, config["performance"]),
        build_summary(spec, line),
    ]
    jobs = build_jobs(spec, line)
    retrain, rescore = jobs[0], jobs[1]
    schedules = [j for j in jobs if isinstance(j, dg.ScheduleDefinition)]
    return dg.Definitions(
        assets=assets,
        jobs=[j for j in jobs if not isinstance(j, dg.ScheduleDefinition)],
        schedules=schedules,
        sensors=build_sensors(spec, line, retrain, rescore),
    )
