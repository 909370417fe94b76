"""The year replayed: each day lands, the line runs, the monitoring sensors decide.

The replay drives time: after each day's line it evaluates every model's own sensors
(``<model>_retrain_sensor``, then ``<model>_promotion_sensor``) exactly as the daemon would,
and runs what they request, in this process and on the same instance, so every run, check and
sensor decision is in the Dagster UI afterwards. The daemon does the same on wall-clock ticks.
"""

import datetime as dt
import functools
import operator
import time
from dataclasses import dataclass, field

import dagster as dg

from factory_assets.components.model_line.drift import DRIFT_CHECK
from factory_assets.components.model_line.performance import PERFORMANCE_CHECK
from factory_assets.defs.jobs import DAILY_LINE_ASSETS, MODEL_INPUTS, MONITORING, SCORING
from factory_assets.lib.landing import FIRST_DAY

RETRAIN_SENSOR, PROMOTION_SENSOR = "_retrain_sensor", "_promotion_sensor"
CHECKS = {"drift_report": DRIFT_CHECK, "prediction_performance": PERFORMANCE_CHECK}


def models(defs: dg.Definitions) -> list[str]:
    """Every model of the definitions (one per spec under defs/models/), by its sensors."""
    return sorted(s.name.removesuffix(RETRAIN_SENSOR) for s in defs.sensors
                  if s.name.endswith(RETRAIN_SENSOR))  # fmt: skip


@dataclass
class Replay:
    """A replay in progress: its instance and definitions, sensor cursors, time per stage."""

    instance: dg.DagsterInstance
    defs: dg.Definitions
    html: str = "drifted"
    policy: object = None  # a RetrainPolicy instead of the definitions' own
    cursors: dict = field(default_factory=dict)  # (model, "retrain" | "promotion") -> cursor
    seconds: dict = field(default_factory=dict)
    failed_runs: list = field(default_factory=list)

    def start_cursors(self) -> None:
        """Sensors start after what the instance already holds (a replay run twice)."""
        for model in models(self.defs):
            newest = 0
            for station, check in CHECKS.items():
                key = dg.AssetCheckKey(dg.AssetKey(f"{model}_{station}"), check)
                history = self.instance.event_log_storage.get_asset_check_execution_history(key, 1)
                newest = max([newest, *(r.id for r in history)])
            self.cursors[model, "retrain"] = str(newest)
            package = dg.AssetKey(f"{model}_package")
            records = self.instance.fetch_materializations(package, limit=1)
            if records.records:
                self.cursors[model, "promotion"] = str(records.records[0].storage_id)

    def run(self, stage: str, job: dg.JobDefinition, **kwargs) -> dg.ExecuteInProcessResult:  # noqa: ANN003
        """Run ``job`` in process on the instance, timing it under ``stage``."""
        started = time.perf_counter()
        result = job.execute_in_process(instance=self.instance, raise_on_error=False, **kwargs)
        self.seconds[stage] = self.seconds.get(stage, 0.0) + time.perf_counter() - started
        if not result.success:
            self.failed_runs.append(f"{stage} {kwargs.get('partition_key', '')} {result.run_id}")
        return result

    def subset(self, selection: list[str] | dg.AssetSelection) -> dg.JobDefinition:
        """A job of the given assets (the global asset job's subset)."""
        job = self.defs.resolve_implicit_global_asset_job_def()
        if not isinstance(selection, dg.AssetSelection):
            selection = dg.AssetSelection.assets(*selection)
        keys = selection.resolve(self.defs.resolve_asset_graph())
        return job.get_subset(asset_selection=set(keys))

    def trained(self) -> list[str]:
        """The models with a package (a champion or a rejected first try) on the instance."""
        return [
            model
            for model in models(self.defs)
            if self.instance.fetch_materializations(
                dg.AssetKey(f"{model}_package"), limit=1
            ).records
        ]

    def drift_config(self, job: dg.JobDefinition) -> dict:
        """Run config of ``job`` that sets how often its drift steps write their HTML reports."""
        keys = job.asset_layer.executable_asset_keys
        drift = [k for k in keys if k.path[-1].endswith("_drift_report")]
        return {"ops": {k.path[-1]: {"config": {"html_report": self.html}} for k in drift}}

    def tick_sensors(self) -> None:
        """Each model's retrain sensor, its requests run, then its promotion sensor's."""
        for model in models(self.defs):
            sensor = f"{model}{RETRAIN_SENSOR}"
            context = dg.build_sensor_context(
                instance=self.instance,
                cursor=self.cursors.get((model, "retrain")),
                resources={"retrain_policy": self.policy or self.defs.resources["retrain_policy"]},
            )
            result = self.defs.get_sensor_def(sensor)(context)
            self.cursors[model, "retrain"] = result.cursor
            for request in result.run_requests:
                tags = {**request.tags, "dagster/sensor_name": sensor}
                job = self.defs.resolve_job_def(f"retrain_{model}")
                self.run(
                    f"retrain {model}",
                    job,
                    run_config=request.run_config,
                    tags=tags,
                    partition_key=request.partition_key,
                )
                self._promotions(model)

    def _promotions(self, model: str) -> None:
        sensor = f"{model}{PROMOTION_SENSOR}"
        context = dg.build_sensor_context(
            instance=self.instance, cursor=self.cursors.get((model, "promotion"))
        )
        requests = list(self.defs.get_sensor_def(sensor)(context))
        self.cursors[model, "promotion"] = context.cursor
        for request in requests:
            if isinstance(request, dg.RunRequest):
                tags = {**request.tags, "dagster/sensor_name": sensor}
                job = self.defs.resolve_job_def(f"rescore_{model}")
                self.run(
                    f"rescore {model}",
                    job,
                    partition_key=request.partition_key,
                    tags=tags,
                    run_config=self.drift_config(job),
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

    With ``batch_days`` > 1 the batch lands at once: ingest to scoring runs once (one dbt build),
    then one monitoring run judges each day of the batch on its own (a verdict per day), then the
    sensors tick, as the daemon's would after the batch: a retrain starts from the newest failed
    day outside the cool-down.
    """
    daily = replay.defs.resolve_job_def("daily_line")
    line = replay.subset(dg.AssetSelection.assets(*DAILY_LINE_ASSETS) | MODEL_INPUTS | SCORING)
    day = first
    while day <= last:
        end = min(day + dt.timedelta(days=batch_days - 1), last)
        if batch_days == 1:
            replay.run(
                "daily line",
                daily,
                partition_key=day.isoformat(),
                run_config=replay.drift_config(daily),
            )
            replay.tick_sensors()
        else:
            tags = {
                "dagster/asset_partition_range_start": day.isoformat(),
                "dagster/asset_partition_range_end": end.isoformat(),
            }
            replay.run("batch line", line, tags=tags)
            trained = [dg.AssetSelection.tag("factory/model", m) for m in replay.trained()]
            if trained:  # a model without a champion scored nothing: nothing to monitor
                monitoring = replay.subset(MONITORING & functools.reduce(operator.or_, trained))
                config = replay.drift_config(monitoring)
                replay.run("monitoring", monitoring, tags=tags, run_config=config)
            replay.tick_sensors()
        day = end + dt.timedelta(days=1)


def summarise(replay: Replay) -> str:
    """Materialize every model's monitoring summary and return their text."""
    texts = []
    trained = replay.trained()
    for model in models(replay.defs):
        if model not in trained:
            texts.append(f"== {model} ==\nnot trained yet: materialize {model}_package")
            continue
        result = replay.run("summary", replay.subset([f"{model}_monitoring_summary"]))
        if not result.success:
            texts.append(f"{model}: summary failed: see the run in the Dagster UI")
            continue
        metadata = result.get_asset_materialization_events()[0].materialization.metadata
        text = metadata["summary"].value.strip("`\n")
        texts.append(f"== {model} ==\n{text}\nplot: {metadata['plot_path'].value}")
    return "\n\n".join(texts)
