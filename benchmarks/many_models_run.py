"""One Dagster run of the many-models line, and where its time goes.

``train_all`` materializes the model, evaluation and package stations of every segment in one
in-process run on a real SQLite instance, with the TIMED functions wrapped by ``stopwatch``;
``check_outputs`` then requires a result per segment and station, a version or a fallback mark.
"""

import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.many_models_spec import CATEGORICAL, NUMERIC, PROJECT_ROOT, TABLE, spec_attributes
from factory_assets.private_api import EVENT_LOG_WRITE


def line_defs(spec_attrs: dict, root: Path, warehouse: Path):  # noqa: ANN201 (dg.Definitions)
    """The spec's line with its resources: ``warehouse``, and MLflow store, results on ``root``."""
    import dagster as dg

    from factory_assets.components.model_line.build import build_line
    from factory_assets.components.model_line.results import ModelResults
    from factory_assets.components.model_spec import ModelSpec
    from factory_assets.lib.catalog import ColumnFacts
    from factory_assets.resources import (
        LandingZone,
        OnlineStore,
        ReportStore,
        RetrainPolicy,
        TrackingStore,
        Warehouse,
    )

    spec = ModelSpec.model_validate(spec_attrs)
    columns = ("flight_id", "flight_date", "is_late", "segment", *CATEGORICAL, *NUMERIC)
    facts = {TABLE: {"is_late": ColumnFacts(data_type="boolean")}}  # the benchmark's own table
    line = spec.line(root / "defs.yaml", {TABLE: columns}, facts=facts)
    resources = {
        "duckdb": Warehouse(catalog=str(warehouse)),
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
    ("training: fit", "lib.training.candidates", "fit_mlp"),  # the net with its MLflow logger
    ("training: whole segment", "model_line.training", "train_segment"),
    ("training: read rows", "model_line.training", "read_labelled"),
    ("evaluation: read rows", "model_line.evaluation", "read_labelled"),
    ("evaluation: load net (in-process copy or MLflow)", "lib.holdout", "load_run_model"),
    ("evaluation: evaluate", "lib.holdout", "evaluate"),
    ("evaluation: permutation importance", "lib.evaluation", "permutation_importance"),
    ("evaluation: log metrics", "lib.holdout", "log_holdout"),
    ("evaluation: leakage guard", "lib.holdout", "guard"),
    ("packaging: read rows", "model_line.packaging", "read_labelled"),
    ("packaging: whole segment", "model_line.packaging", "package_segment"),
    ("packaging: load net (in-process copy or MLflow)", "lib.registration", "load_run_model"),
    ("packaging: champion on holdout", "lib.registration", "champion_metrics"),
    ("packaging: ONNX export", "lib.training.export_cache", "OnnxExports.export"),
    ("packaging: ONNX export, traced by torch", "lib.packaging", "export_onnx"),
    ("packaging: ONNX parity", "lib.packaging", "check_parity"),
    ("packaging: register version", "lib.registry", "Registry.register"),
    ("packaging: promote", "lib.registry", "Registry.promote"),
    ("packaging: keep as challenger", "lib.registry", "Registry.keep_as_challenger"),
    ("packaging: fallback mark", "model_line.packaging", "mark_fallback"),
    ("dagster: event log writes", *EVENT_LOG_WRITE),
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
