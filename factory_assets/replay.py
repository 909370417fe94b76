"""The year replayed: each day lands, the line runs, the monitoring sensors decide.

The replay drives time: after each day's line it evaluates every model's own sensors
(``<model>_retrain_sensor``, then ``<model>_promotion_sensor``) exactly as the daemon would,
and runs what they request, in this process and on the same instance, so every run, check and
sensor decision is in the Dagster UI afterwards. The daemon does the same on wall-clock ticks,
and resumes where the replay stopped: the sensors' cursors are the instance's own (the state the
daemon reads and writes), and each run carries its sensor's name and run key, so the daemon
skips a request the replay already ran, as it skips its own.
"""

import datetime as dt
import functools
import operator
import time
from dataclasses import dataclass, field

import dagster as dg

from factory_assets.components.model_line.drift import DRIFT_CHECK
from factory_assets.components.model_line.performance import PERFORMANCE_CHECK
from factory_assets.defs.jobs import (
    line_job,
    monitoring,
    period_build,
    period_job,
    scoring,
)
from factory_assets.lib.calendar import Period
from factory_assets.lib.sources import Dataset
from factory_assets.private_api import check_records, sensor_cursor, store_sensor_cursor

RETRAIN_SENSOR, PROMOTION_SENSOR = "_retrain_sensor", "_promotion_sensor"
SENSOR_TAG, RUN_KEY_TAG = "dagster/sensor_name", "dagster/run_key"  # as the daemon tags its runs
# periods of data between two housekeeping passes of the lake (the nightly schedule's, a week of
# days replayed at a time): ~2 s each on nycflights
MAINTAIN_EVERY = 7
CHECKS = {"drift_report": DRIFT_CHECK, "prediction_performance": PERFORMANCE_CHECK}


def models(defs: dg.Definitions) -> list[str]:
    """Every model of the definitions (one per spec under defs/models/), by its sensors."""
    return sorted(s.name.removesuffix(RETRAIN_SENSOR) for s in defs.sensors
                  if s.name.endswith(RETRAIN_SENSOR))  # fmt: skip


@dataclass
class Replay:
    """A replay in progress: its instance and definitions, time per stage, failed runs."""

    instance: dg.DagsterInstance
    defs: dg.Definitions
    dataset: Dataset
    html: str = "drifted"
    policy: object = None  # a RetrainPolicy instead of the definitions' own
    seconds: dict = field(default_factory=dict)
    failed_runs: list = field(default_factory=list)
    progress: object = None  # a console.ReplayProgress: told when each run starts and ends

    def models(self) -> list[str]:
        """The models on the replayed dataset's calendar."""
        graph = self.defs.resolve_asset_graph()
        mine = {graph.get(k).tags["factory/model"] for k in scoring(self.dataset).resolve(graph)}
        return [m for m in models(self.defs) if m in mine]

    def first_unseen(self) -> Period:
        """The period after the newest holdout of the dataset's models: what no model saw."""
        graph = self.defs.resolve_asset_graph()
        ends = []
        for model in self.models():
            fields = graph.get(dg.AssetKey(f"{model}_evaluation")).assets_def.op.config_schema
            ends.append(fields.as_field().config_type.fields["holdout_end"].default_value)
        calendar = self.dataset.calendar
        if not ends:
            return calendar.first
        return calendar.shift(calendar.period_of(dt.date.fromisoformat(max(ends))), 1)

    def start_cursors(self) -> None:
        """Sensors the instance holds no state for start after what it already holds.

        A sensor with a stored state (an earlier replay's, or the daemon's) resumes from it.
        """
        for model in self.models():
            retrain = self.defs.get_sensor_def(f"{model}{RETRAIN_SENSOR}")
            if not sensor_cursor(self.instance, retrain.name)[0]:
                newest = 0
                for station, check in CHECKS.items():
                    key = dg.AssetCheckKey(dg.AssetKey(f"{model}_{station}"), check)
                    history = check_records(self.instance, key, newest=1)
                    newest = max([newest, *(r.id for r in history)])
                store_sensor_cursor(self.instance, retrain, str(newest))
            promotion = self.defs.get_sensor_def(f"{model}{PROMOTION_SENSOR}")
            if not sensor_cursor(self.instance, promotion.name)[0]:
                package = dg.AssetKey(f"{model}_package")
                records = self.instance.fetch_materializations(package, limit=1).records
                cursor = str(records[0].storage_id) if records else None
                store_sensor_cursor(self.instance, promotion, cursor)

    def run(  # noqa: ANN003 (execute_in_process's own arguments)
        self, stage: str, job: dg.JobDefinition, label: str = "", **kwargs
    ) -> dg.ExecuteInProcessResult:
        """Run ``job`` in process on the instance, timing it under ``stage``.

        ``label`` names the run on the console where no partition does (a model's summary).
        """
        if label:
            kwargs.setdefault("tags", {})["factory/label"] = label
        if self.progress:
            self.progress.started(stage, kwargs)
        started = time.perf_counter()
        result = job.execute_in_process(instance=self.instance, raise_on_error=False, **kwargs)
        seconds = time.perf_counter() - started
        self.seconds[stage] = self.seconds.get(stage, 0.0) + seconds
        if self.progress:
            self.progress.finished(stage, kwargs, result, seconds)
        if not result.success:
            self.failed_runs.append(f"{stage} {kwargs.get('partition_key', '')} {result.run_id}")
        return result

    def maintain(self) -> None:
        """The lake's housekeeping (``lake_maintenance``), as its nightly schedule would run it.

        A replay passes a week of data in seconds, so a week of retention would keep every
        snapshot: here snapshots expire and let-go files go at once (registered versions'
        snapshots are kept all the same). It keeps the lake's files few (by October of the
        year 764 files, 90 after one 2 s pass; a week of predictions read in 40 ms, 16 ms
        after), though the year's replay took as long with it as without (within 2 %). The
        same job lets go of the drift caches of versions no longer served (report store).
        """
        config = {"expire_older_than_days": 0.0, "cleanup_older_than_hours": 0.0}
        job = self.defs.resolve_job_def("lake_maintenance")
        self.run("lake maintenance", job, run_config={"ops": {"maintain_lake": {"config": config}}})

    def subset(self, selection: list[str] | dg.AssetSelection) -> dg.JobDefinition:
        """A job of the given assets (the global asset job's subset)."""
        job = self.defs.resolve_implicit_global_asset_job_def()
        if not isinstance(selection, dg.AssetSelection):
            selection = dg.AssetSelection.assets(*selection)
        keys = selection.resolve(self.defs.resolve_asset_graph())
        return job.get_subset(asset_selection=set(keys))

    def trained(self) -> list[str]:
        """The dataset's models with a package (a champion or a rejected try) on the instance."""
        return [
            model
            for model in self.models()
            if self.instance.fetch_materializations(
                dg.AssetKey(f"{model}_package"), limit=1
            ).records
        ]

    def drift_config(self, job: dg.JobDefinition) -> dict:
        """Run config of ``job`` that sets how often its drift steps write their HTML reports."""
        keys = job.asset_layer.executable_asset_keys
        drift = [k for k in keys if k.path[-1].endswith("_drift_report")]
        return {"ops": {k.path[-1]: {"config": {"html_report": self.html}} for k in drift}}

    def tick(
        self, sensor: dg.SensorDefinition, resources: dict | None = None
    ) -> list[dg.RunRequest]:
        """One evaluation of ``sensor`` from its stored cursor; the requests no run answered yet.

        The new cursor is stored, and a request whose run key already has a run of this sensor
        is dropped, as the daemon drops it.
        """
        _, cursor = sensor_cursor(self.instance, sensor.name)
        context = dg.build_sensor_context(
            instance=self.instance, cursor=cursor, resources=resources
        )
        result = sensor(context)
        if isinstance(result, dg.SensorResult):
            requests, cursor = list(result.run_requests or []), result.cursor
        else:  # an asset sensor yields its request and moves the context's cursor
            single = isinstance(result, dg.RunRequest | dg.SkipReason)
            requests, cursor = [result] if single else list(result or []), context.cursor
        store_sensor_cursor(self.instance, sensor, cursor)
        fresh = []
        for request in requests:
            if not isinstance(request, dg.RunRequest):
                continue
            done = {RUN_KEY_TAG: request.run_key, SENSOR_TAG: sensor.name}
            if request.run_key and self.instance.get_runs(dg.RunsFilter(tags=done), limit=1):
                continue
            fresh.append(request)
        return fresh

    def launch(
        self, stage: str, sensor: str, job: dg.JobDefinition, request: dg.RunRequest
    ) -> None:
        """Run ``request`` of ``sensor`` in process, tagged as the daemon tags a sensor's run."""
        tags = {**request.tags, SENSOR_TAG: sensor}
        if request.run_key:
            tags[RUN_KEY_TAG] = request.run_key
        # the request's own config (a retrain's windows) and the replay's HTML setting
        ops = {**self.drift_config(job)["ops"], **request.run_config.get("ops", {})}
        run_config = {**request.run_config, "ops": ops}
        self.run(stage, job, run_config=run_config, tags=tags, partition_key=request.partition_key)

    def tick_sensors(self) -> None:
        """Each model's retrain sensor and its requests, then its promotion sensor's."""
        policy = {"retrain_policy": self.policy or self.defs.resources["retrain_policy"]}
        for model in self.models():
            sensor = self.defs.get_sensor_def(f"{model}{RETRAIN_SENSOR}")
            for request in self.tick(sensor, policy):
                job = self.defs.resolve_job_def(f"retrain_{model}")
                self.launch(f"retrain {model}", sensor.name, job, request)
            # every tick, as the daemon's: a promotion it has not seen is the replay's to run
            sensor = self.defs.get_sensor_def(f"{model}{PROMOTION_SENSOR}")
            for request in self.tick(sensor):
                job = self.defs.resolve_job_def(f"rescore_{model}")
                self.launch(f"rescore {model}", sensor.name, job, request)


def _range(first: Period, last: Period) -> dict:
    return {
        "dagster/asset_partition_range_start": first.key,
        "dagster/asset_partition_range_end": last.key,
    }


def initial_line(replay: Replay, end: Period, start: Period | None = None) -> None:
    """Land and model the dataset's periods ``start`` … ``end``: the first champions.

    ``start`` is the oldest landed period (default: the calendar's first).
    The line job trains the single models (a segmented model's fallback among them); each
    segmented model then trains every segment in one run of its own chain (``retrain_<model>``
    over all its segment partitions), as a job over days cannot also take segments.
    """
    job = replay.defs.resolve_job_def(line_job(replay.dataset))
    replay.run("initial line", job, tags=_range(start or replay.dataset.calendar.first, end))
    for model in replay.models():
        chain = replay.defs.resolve_job_def(f"retrain_{model}")
        if not isinstance(chain.partitions_def, dg.StaticPartitionsDefinition):
            continue  # a single model: trained by the line
        segments = chain.partitions_def.get_partition_keys()
        tags = {
            "dagster/asset_partition_range_start": segments[0],
            "dagster/asset_partition_range_end": segments[-1],
        }
        replay.run("segment models", chain, label=model, tags=tags)


def replay_periods(replay: Replay, first: Period, last: Period, batch: int = 1) -> None:
    """Periods [first, last]: land, line, monitoring and sensors, one period (or batch) at a time.

    With ``batch`` > 1 the batch lands at once: ingest to scoring runs once (one dbt build),
    then one monitoring run judges each period of the batch on its own (a verdict each), then
    the sensors tick, as the daemon's would after the batch: a retrain starts from the newest
    failed period outside the cool-down. Every ``MAINTAIN_EVERY`` periods the lake is kept
    (``Replay.maintain``).
    """
    calendar = replay.dataset.calendar
    single = replay.defs.resolve_job_def(period_job(replay.dataset))
    line = replay.subset(period_build(replay.dataset) | scoring(replay.dataset))
    period, since = first, 0  # periods since the lake's last housekeeping
    while period <= last:
        end = min(calendar.shift(period, batch - 1), last)
        if batch == 1:
            replay.run(
                f"{calendar.grain} line",
                single,
                partition_key=period.key,
                run_config=replay.drift_config(single),
            )
            replay.tick_sensors()
        else:
            replay.run("batch line", line, tags=_range(period, end))
            trained = [dg.AssetSelection.tag("factory/model", m) for m in replay.trained()]
            if trained:  # a model without a champion scored nothing: nothing to monitor
                selection = monitoring(replay.dataset) & functools.reduce(operator.or_, trained)
                job = replay.subset(selection)
                config = replay.drift_config(job)
                replay.run("monitoring", job, tags=_range(period, end), run_config=config)
            replay.tick_sensors()
        since += len(calendar.between(period, end))
        if since >= MAINTAIN_EVERY:
            replay.maintain()
            since = 0
        period = calendar.shift(end, 1)


def summarise(replay: Replay) -> str:
    """Materialize every model's monitoring summary and return their text."""
    texts = []
    trained = replay.trained()
    for model in replay.models():
        if model not in trained:
            texts.append(f"== {model} ==\nnot trained yet: materialize {model}_package")
            continue
        result = replay.run("summary", replay.subset([f"{model}_monitoring_summary"]), label=model)
        if not result.success:
            texts.append(f"{model}: summary failed: see the run in the Dagster UI")
            continue
        metadata = result.get_asset_materialization_events()[0].materialization.metadata
        text = metadata["summary"].value.strip("`\n")
        texts.append(f"== {model} ==\n{text}\nplot: {metadata['plot_path'].value}")
    return "\n\n".join(texts)
