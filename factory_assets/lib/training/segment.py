"""One model of a line trained on one segment's rows, tracked in MLflow; the nets kept in process.

The ``<model>_model`` station calls ``train_segment`` per segment; the evaluation and package
stations load what it logged with ``load_run_model``.
"""

import copy
import dataclasses
import datetime as dt
import tempfile
import threading
import time
from collections import OrderedDict
from pathlib import Path

import polars as pl

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
        one = "value" if line.task.kind == "regression" else "class"
        return rows, f"the {rows} training rows are all of one {one}"
    if frame.filter(date.is_between(*cfg.val_window)).is_empty():
        start, end = (d.isoformat() for d in cfg.val_window)
        return rows, f"no labelled rows in the validation window {start} to {end}"
    return rows, ""


def _fit(frame: pl.DataFrame, cfg: TrainConfig, line: ModelLine, tracking, run_id: str):  # noqa: ANN001, ANN202
    from lightning.pytorch.loggers import MLFlowLogger

    from factory_assets.lib.training.train import train_model

    logger = MLFlowLogger(
        experiment_name=line.name, tracking_uri=tracking.tracking_uri, run_id=run_id
    )
    started = time.perf_counter()
    outcome = train_model(frame, cfg, logger=logger, columns=line.columns, task=line.task)
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
        return outcome.metrics["val/score"]  # the task's primary metric, higher is better

    result = run_search(space, trials, objective, seed=cfg.seed, direction="maximize")
    outcome, seconds, best_cfg = outcomes[result.best_number]
    total = sum(s for _, s, _ in outcomes.values())
    return outcome, total, best_cfg, result


def train_config(config) -> TrainConfig:  # noqa: ANN001 (the spec's Training config)
    """The training knobs of a station's run config."""
    return TrainConfig(**{k: v for k, v in config.model_dump().items() if k in TRAIN_FIELDS})


def train_segment(  # noqa: PLR0913
    run_id: str,
    line: ModelLine,
    config,  # noqa: ANN001 (the spec's training config: trials, shuffle_labels)
    cfg: TrainConfig,
    frame: pl.DataFrame,
    segment: str | None,
    tracking,  # noqa: ANN001 (a TrackingStore: registry(), tracking_uri, artifact_location)
    code: str,
    space: dict | None,
) -> dict:
    """Train one model (or run its search) on ``frame``; its MLflow run holds everything.

    ``run_id`` is the Dagster run's, ``cfg`` is ``train_config(config)``, ``code`` the code
    version (once per run, not per segment) and ``space`` the spec's search space (None: no
    search). Returns the station's result for the segment.
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
        run_name=f"{name}-{run_id[:8]}",
        tags={"dagster_run_id": run_id, "factory/segment": segment or "", **versions},
    )
    search = None
    if config.trials and space:
        outcome, seconds, cfg, search = _search(
            frame, cfg, config.trials, space, line, tracking, run
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


def load_run_model(tracking, run_id: str) -> tuple[object, object]:  # noqa: ANN001
    """The net and preprocessor logged by the model station under the run's ``training/``.

    A model station of this process leaves a copy in TRAINED (in-process executor): no download.
    """
    from mlflow.artifacts import download_artifacts

    from factory_assets.lib.training.artifacts import load_trained

    cached = TRAINED.get(run_id)
    if cached is not None:
        return cached
    with tempfile.TemporaryDirectory() as tmp:
        local = download_artifacts(
            run_id=run_id,
            artifact_path="training",
            dst_path=tmp,
            tracking_uri=tracking.tracking_uri,
        )
        return load_trained(Path(local))
