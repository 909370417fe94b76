"""<model>_model: trained with Lightning (one run per segment), tracked in MLflow."""

import copy
import dataclasses
import datetime as dt
import tempfile
import threading
import time
from collections import OrderedDict
from pathlib import Path

import dagster as dg
import polars as pl
from dagster_duckdb import DuckDBResource

from factory_assets.components.model_line.common import by_segment, output, segments_of, station
from factory_assets.defs.resources import TrackingStore
from factory_assets.lib.model_line import ModelLine
from factory_assets.lib.training.train import TrainConfig

TRAIN_FIELDS = {f.name for f in dataclasses.fields(TrainConfig)}


class TrainedNets:
    """Nets this process trained, by MLflow run id, up to ``max_bytes`` of weights (oldest out).

    With the in-process executor the evaluation and package stations run in the process that
    trained: they read the net here instead of downloading it from MLflow again. A run id names
    one logged net for good, so a hit is that net; a miss (another process, a later run) loads
    from MLflow. ``get`` returns a copy of the net: no station changes another's.
    """

    def __init__(self, max_bytes: int = 64 * 2**20) -> None:
        self.max_bytes, self._bytes = max_bytes, 0
        self._nets: OrderedDict[str, tuple[object, object, int]] = OrderedDict()
        self._lock = threading.Lock()

    def put(self, run_id: str, net, preprocessor) -> None:  # noqa: ANN001
        """Keep ``net`` (as logged under the run) and its preprocessor."""
        size = sum(t.numel() * t.element_size() for t in net.state_dict().values())
        if size > self.max_bytes:
            return
        with self._lock:
            self._bytes += size - (self._nets.pop(run_id, (None, None, 0))[2])
            self._nets[run_id] = (net, preprocessor, size)
            while self._bytes > self.max_bytes:
                self._bytes -= self._nets.popitem(last=False)[1][2]

    def get(self, run_id: str) -> tuple[object, object] | None:
        """A copy of the run's net and its preprocessor, or None."""
        with self._lock:
            found = self._nets.get(run_id)
            if found is None:
                return None
            self._nets.move_to_end(run_id)
        return copy.deepcopy(found[0]), found[1]

    def __len__(self) -> int:
        return len(self._nets)


TRAINED = TrainedNets()


def fallback_result(line: ModelLine, reason: str) -> dict:
    """A station's result for a segment served by the line's fallback model, and why."""
    return {"fallback": line.segments.fallback, "reason": reason}


def segment_fallback(frame: pl.DataFrame, cfg: TrainConfig, line: ModelLine) -> tuple[int, str]:
    """Training rows of a segment, and why it cannot train its own model ("" when it can).

    Checked before training so that one degenerate segment falls back instead of failing
    the run of every segment: too few rows, one class only, or no validation rows.
    """
    date, label = pl.col(line.columns.date), pl.col(line.columns.label)
    train = frame.filter(date.is_between(*cfg.train_window))
    rows, classes = train.height, train.select(label.n_unique()).item()
    if rows < line.segments.min_rows:
        return rows, f"{rows} training rows < {line.segments.min_rows}"
    if classes < 2:
        return rows, f"the {rows} training rows are all of one class"
    if frame.filter(date.is_between(*cfg.val_window)).is_empty():
        start, end = (d.isoformat() for d in cfg.val_window)
        return rows, f"no labelled rows in the validation window {start} to {end}"
    return rows, ""


def read_labelled(duckdb: DuckDBResource, line: ModelLine, window: tuple, segments: list) -> dict:
    """Labelled rows of ``window`` for each segment (None: all rows)."""
    params = [window[0], window[1]]
    if line.segments:
        params.append([s for s in segments if s is not None])
    with duckdb.get_connection() as conn:
        frame = conn.sql(line.labelled_sql(bool(line.segments)), params=params).pl()
    frame = frame.filter(pl.col(line.columns.label).is_not_null())
    if not line.segments:
        return {None: frame}
    parts = frame.partition_by(line.segments.column, as_dict=True)
    return {s: parts.get((s,), frame.clear()) for s in segments}


def _fit(frame: pl.DataFrame, cfg: TrainConfig, line: ModelLine, tracking, run_id: str):  # noqa: ANN001, ANN202
    from lightning.pytorch.loggers import MLFlowLogger

    from factory_assets.lib.training.train import train_model

    logger = MLFlowLogger(
        experiment_name=line.name, tracking_uri=tracking.tracking_uri, run_id=run_id
    )
    started = time.perf_counter()
    outcome = train_model(frame, cfg, logger=logger, columns=line.columns)
    return outcome, time.perf_counter() - started


def _search(frame, cfg: TrainConfig, trials: int, space: dict, line, tracking, parent) -> tuple:  # noqa: ANN001
    """Optuna trials as MLflow child runs; the best trial's model and the trial table."""
    from factory_assets.lib.training.search import run_search

    client, outcomes = tracking.registry().client, {}

    def objective(params: dict, number: int) -> float:
        child = client.create_run(
            parent.info.experiment_id,
            run_name=f"{parent.info.run_name}-trial-{number}",
            tags={"mlflow.parentRunId": parent.info.run_id, "factory/trial": str(number)},
        )
        trial_cfg = dataclasses.replace(cfg, **params)
        for key, value in trial_cfg.params().items():
            client.log_param(child.info.run_id, key, value)
        outcome, seconds = _fit(frame, trial_cfg, line, tracking, child.info.run_id)
        client.set_terminated(child.info.run_id)
        outcomes[number] = (outcome, seconds, trial_cfg)
        return outcome.metrics["val/auroc"]

    result = run_search(space, trials, objective, seed=cfg.seed)
    outcome, seconds, best_cfg = outcomes[result.best_number]
    total = sum(s for _, s, _ in outcomes.values())
    return outcome, total, best_cfg, result


def train_config(config) -> TrainConfig:  # noqa: ANN001 (the spec's Training config)
    """The training knobs of a station's run config."""
    return TrainConfig(**{k: v for k, v in config.model_dump().items() if k in TRAIN_FIELDS})


def train_segment(context, spec, line, config, cfg, frame, segment, tracking, code) -> dict:  # noqa: ANN001, PLR0913
    """Train one model (or run its search) on ``frame``; its MLflow run holds everything.

    ``cfg`` is ``train_config(config)`` and ``code`` the code version: once per run, not per
    segment.
    """
    from mlflow.entities import Param

    from factory_assets.lib.packaging import data_version
    from factory_assets.lib.training.artifacts import save_trained

    if config.shuffle_labels:
        frame = frame.with_columns(pl.col(line.columns.label).shuffle(seed=cfg.seed))
    registry = tracking.registry()
    experiment = registry.experiment(line.name, tracking.artifact_location)
    versions = {
        "data_version": data_version(frame, (cfg.train_start, cfg.val_window[1].isoformat())),
        "code_version": code,
    }
    name = line.registry_name(segment)
    run = registry.client.create_run(
        experiment,
        run_name=f"{name}-{context.run_id[:8]}",
        tags={"dagster_run_id": context.run_id, "factory/segment": segment or "", **versions},
    )
    search = None
    if config.trials and spec.search:
        outcome, seconds, cfg, search = _search(
            frame, cfg, config.trials, spec.search.space, line, tracking, run
        )
    else:
        outcome, seconds = _fit(frame, cfg, line, tracking, run.info.run_id)
    params = {**cfg.params(), "shuffle_labels": config.shuffle_labels}
    # one write, not one per parameter: on SQLite each is a transaction of 10-20 ms
    registry.client.log_batch(run.info.run_id, params=[Param(k, str(v)) for k, v in params.items()])
    with tempfile.TemporaryDirectory() as tmp:
        save_trained(outcome.net, outcome.preprocessor, cfg.hidden, cfg.dropout, Path(tmp))
        registry.client.log_artifacts(run.info.run_id, tmp, "training")
    TRAINED.put(run.info.run_id, outcome.net, outcome.preprocessor)
    registry.client.set_terminated(run.info.run_id)
    return {
        "run_id": run.info.run_id,
        **versions,
        "segment": segment,
        "config": cfg.params(),
        "metrics": outcome.metrics,
        "train_window": [cfg.train_start, cfg.train_end],
        "val_window": [d.isoformat() for d in cfg.val_window],
        "trained_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "train_rows": outcome.train_rows,
        "train_seconds": round(seconds, 3),
        "accelerator": outcome.accelerator,
        "precision": outcome.precision,
        "search": None if search is None else search.to_markdown(),
        # batches landed by then (keys sort as batches come): later ones are not its reference
        **({"last_batch": frame[line.batch_column].max()} if line.batches else {}),
    }


def _metadata(results: dict, config) -> dict:  # noqa: ANN001
    trained = {s: r for s, r in results.items() if "run_id" in r}
    if list(results) == [None]:
        r = results[None]
        metadata = {
            "mlflow_run_id": r["run_id"],
            "data_version": r["data_version"],
            "code_version": r["code_version"],
            "val_auroc": r["metrics"].get("val/auroc"),
            "val_loss": r["metrics"].get("val/loss"),
            "train_rows": r["train_rows"],
            "accelerator": r["accelerator"],
            "precision": r["precision"],
            "train_seconds": r["train_seconds"],
            "shuffle_labels": config.shuffle_labels,
        }
        if r["search"]:
            metadata["trials"] = dg.MetadataValue.md(r["search"])
        return metadata
    lines = ["| segment | model | train rows | val AUROC |", "|---|---|---|---|"]
    for segment, r in results.items():
        model = "trained" if "run_id" in r else f"fallback: {r['fallback']} ({r.get('reason')})"
        auroc = r.get("metrics", {}).get("val/auroc")
        cell = "" if auroc is None else f"{auroc:.4f}"
        lines.append(f"| {segment} | {model} | {r['train_rows']} | {cell} |")
    return {
        "segments": dg.MetadataValue.md("\n".join(lines)),
        "trained_segments": len(trained),
        "fallback_segments": ", ".join(str(s) for s in results if s not in trained) or "(none)",
        "train_seconds": round(sum(r["train_seconds"] for r in trained.values()), 3),
    }


def build_model(spec, line: ModelLine, config_cls: type) -> dg.AssetsDefinition:  # noqa: ANN001
    """The ``<model>_model`` asset of ``line``."""
    deps = [line.features, *([line.labels_from] if line.labels_from else [])]

    @dg.asset(
        name=line.asset("model"),
        deps=deps,
        description=(
            f"{spec.description}\n\nEmbedding + MLP net trained on the training window of "
            f"{line.features} and validated on the days after it; every epoch's metrics go to "
            "MLflow with the data and code versions (Optuna trials as child runs when the "
            "spec has a search)."
        ),
        **station(spec, line, "models", {"pytorch", "mlflow"}, "gpu"),
    )
    def _model(
        context: dg.AssetExecutionContext,
        config: config_cls,
        duckdb: DuckDBResource,
        tracking: TrackingStore,
    ) -> dg.Output:
        from factory_assets.lib.packaging import code_version

        segments, code, cfg = segments_of(context, line), code_version(), train_config(config)
        window = (cfg.train_window[0], cfg.val_window[1])
        frames = read_labelled(duckdb, line, window, segments)
        results = {}
        for segment in segments:
            frame = frames[segment]
            rows, reason = segment_fallback(frame, cfg, line) if line.segments else (0, "")
            if reason:
                results[segment] = {**fallback_result(line, reason), "train_rows": rows}
                context.log.info(f"{segment}: {reason}: fallback")
                continue
            results[segment] = train_segment(
                context, spec, line, config, cfg, frame, segment, tracking, code
            )
        return dg.Output(output(results, line), metadata=_metadata(results, config))

    return _model


__all__ = [
    "TRAINED",
    "build_model",
    "by_segment",
    "fallback_result",
    "read_labelled",
    "segment_fallback",
]
