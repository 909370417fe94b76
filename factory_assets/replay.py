"""The year replayed: each day lands, the line runs, the monitoring sensors decide.

The replay drives time: after each day's line it evaluates the project's own sensors
(``flights_retrain_sensor``, then ``flights_promotion_sensor``) exactly as the daemon would,
and runs what they request, in this process and on the same instance, so every run, check and
sensor decision is in the Dagster UI afterwards. The daemon does the same on wall-clock ticks.
"""

import datetime as dt
import time
from dataclasses import dataclass, field

import dagster as dg

from factory_assets.defs.jobs import DAILY_LINE_ASSETS, MONITORING_ASSETS
from factory_assets.defs.monitoring.flights_sensors import (
    flights_promotion_sensor,
    flights_retrain_sensor,
)
from factory_assets.lib.landing import FIRST_DAY


@dataclass
class Replay:
    """A replay in progress: its instance and definitions, sensor cursors, time per stage."""

    instance: dg.DagsterInstance
    defs: dg.Definitions
    html: str = "drifted"
    policy: object = None  # a RetrainPolicy instead of the definitions' own
    cursors: dict = field(default_factory=lambda: {"retrain": None, "promotion": None})
    seconds: dict = field(default_factory=dict)
    failed_runs: list = field(default_factory=list)

    def start_cursors(self) -> None:
        """Sensors start after what the instance already holds (a replay run twice)."""
        from factory_assets.defs.monitoring.flights_sensors import newest_check_id

        self.cursors["retrain"] = str(newest_check_id(self.instance))
        records = self.instance.fetch_materializations(dg.AssetKey("flights_package"), limit=1)
        if records.records:
            self.cursors["promotion"] = str(records.records[0].storage_id)

    def run(self, stage: str, job: dg.JobDefinition, **kwargs) -> dg.ExecuteInProcessResult:  # noqa: ANN003
        """Run ``job`` in process on the instance, timing it under ``stage``."""
        started = time.perf_counter()
        result = job.execute_in_process(instance=self.instance, raise_on_error=False, **kwargs)
        self.seconds[stage] = self.seconds.get(stage, 0.0) + time.perf_counter() - started
        if not result.success:
            self.failed_runs.append(f"{stage} {kwargs.get('partition_key', '')} {result.run_id}")
        return result

    def subset(self, keys: list[str]) -> dg.JobDefinition:
        """A job of the given assets (the global asset job's subset)."""
        job = self.defs.resolve_implicit_global_asset_job_def()
        return job.get_subset(asset_selection={dg.AssetKey(k) for k in keys})

    def drift_config(self) -> dict:
        """Run config that sets how often the drift step writes its HTML report."""
        return {"ops": {"flights_drift_report": {"config": {"html_report": self.html}}}}

    def tick_sensors(self) -> None:
        """Evaluate the retrain sensor, run its request, then the promotion sensor's."""
        context = dg.build_sensor_context(
            instance=self.instance,
            cursor=self.cursors["retrain"],
            resources={"retrain_policy": self.policy or self.defs.resources["retrain_policy"]},
        )
        result = flights_retrain_sensor(context)
        self.cursors["retrain"] = result.cursor
        for request in result.run_requests:
            tags = {**request.tags, "dagster/sensor_name": "flights_retrain_sensor"}
            job = self.defs.resolve_job_def("retrain_flights")
            self.run("retrain", job, run_config=request.run_config, tags=tags)
            self._promotions()

    def _promotions(self) -> None:
        context = dg.build_sensor_context(instance=self.instance, cursor=self.cursors["promotion"])
        requests = list(flights_promotion_sensor(context))
        self.cursors["promotion"] = context.cursor
        for request in requests:
            if isinstance(request, dg.RunRequest):
                tags = {**request.tags, "dagster/sensor_name": "flights_promotion_sensor"}
                job = self.defs.resolve_job_def("rescore_flights")
                self.run(
                    "rescore",
                    job,
                    partition_key=request.partition_key,
                    tags=tags,
                    run_config=self.drift_config(),
                )


def initial_line(replay: Replay, end: dt.date) -> None:
    """Land and model everything before ``end``: the first champion."""
    tags = {
        "dagster/asset_partition_range_start": FIRST_DAY.isoformat(),
        "dagster/asset_partition_range_end": end.isoformat(),
    }
    replay.run("initial line", replay.defs.resolve_job_def("factory_line"), tags=tags)


def replay_days(replay: Replay, first: dt.date, last: dt.date, batch_days: int = 1) -> None:
    """Days [first, last]: land, line, monitoring and sensors, one day (or batch) at a time.

    With ``batch_days`` > 1 the ingest-to-scoring part runs once per batch (one dbt build per
    batch); monitoring and the sensors still run day by day.
    """
    daily = replay.defs.resolve_job_def("daily_line")
    line, monitoring = replay.subset(DAILY_LINE_ASSETS), replay.subset(MONITORING_ASSETS)
    day = first
    while day <= last:
        end = min(day + dt.timedelta(days=batch_days - 1), last)
        if batch_days == 1:
            replay.run(
                "daily line", daily, partition_key=day.isoformat(), run_config=replay.drift_config()
            )
            replay.tick_sensors()
        else:
            tags = {
                "dagster/asset_partition_range_start": day.isoformat(),
                "dagster/asset_partition_range_end": end.isoformat(),
            }
            replay.run("batch line", line, tags=tags)
            for offset in range((end - day).days + 1):
                current = day + dt.timedelta(days=offset)
                replay.run(
                    "monitoring",
                    monitoring,
                    partition_key=current.isoformat(),
                    run_config=replay.drift_config(),
                )
                replay.tick_sensors()
        day = end + dt.timedelta(days=1)


def summarise(replay: Replay) -> str:
    """Materialize flights_monitoring_summary and return its text."""
    result = replay.run("summary", replay.subset(["flights_monitoring_summary"]))
    if not result.success:
        return "summary failed: see the run in the Dagster UI"
    metadata = result.get_asset_materialization_events()[0].materialization.metadata
    text = metadata["summary"].value.strip("`\n")
    return f"{text}\nplot: {metadata['plot_path'].value}"
