"""One model of a line trained on one segment's rows, tracked in MLflow; the nets kept in process.

The ``<model>_model`` station calls ``train_segment`` per segment; the evaluation and package
stations load what it logged with ``load_run_model``.
"""

import dataclasses
import datetime as dt
import tempfile
import threading
from collections import OrderedDict
from pathlib import Path

import polars as pl

from factory_assets.lib.model_line import ModelLine
from factory_assets.lib.training.train import TrainConfig

TRAIN_FIELDS = {f.name for f in dataclasses.fields(TrainConfig)}


class TrainedNets:
    """Models this process trained, by MLflow run id, up to ``max_bytes`` of weights (oldest out).

    With the in-process executor the evaluation and package stations run in the process that
    trained: they read the model here instead of downloading it from MLflow again. A run id
    (and artifact folder) names one logged model for good, so a hit is that model; a miss
    (another process, a later run) loads from MLflow. ``get`` returns a copy of a net: no
    station changes another's (lib/training/models.py ``copied``). Nets and trees alike.
    """

    def __init__(self, max_bytes: int = 64 * 2**20) -> None:
        self.max_bytes, self._bytes = max_bytes, 0
        self._nets: OrderedDict[str, tuple[object, object, int]] = OrderedDict()
        self._lock = threading.Lock()

    def put(self, run_id: str, net, preprocessor) -> None:  # noqa: ANN001
        """Keep ``net`` (as logged under the run) and its preprocessor."""
        from factory_assets.lib.training.models import size_bytes

        size = size_bytes(net)
        if size > self.max_bytes:
            return
        with self._lock:
            self._bytes += size - (self._nets.pop(run_id, (None, None, 0))[2])
            self._nets[run_id] = (net, preprocessor, size)
            while self._bytes > self.max_bytes:
                self._bytes -= self._nets.popitem(last=False)[1][2]

    def get(self, run_id: str) -> tuple[object, object] | None:
        """A copy of the run's model and its preprocessor, or None."""
        from factory_assets.lib.training.models import copied

        with self._lock:
            found = self._nets.get(run_id)
            if found is None:
                return None
            self._nets.move_to_end(run_id)
        return copied(found[0]), found[1]

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
    refit: tuple | None = None,
    lake_snapshot: int | None = None,
) -> dict:
    """Train one model (or run its search) on ``frame``; its MLflow run holds everything.

    ``run_id`` is the Dagster run's, ``cfg`` is ``train_config(config)``, ``code`` the code
    version (once per run, not per segment), ``space`` the spec's search space (None: no
    search) and ``lake_snapshot`` the id of the lake snapshot ``frame`` was read at (a tag of
    the run beside the content hash). ``refit`` (the refit window and the holdout,
    lib/training/refit.py) also refits the chosen model and the baseline on the window, logged
    under ``refit/`` and ``baseline_refit/``: what the package serves. Returns the station's
    result for the segment.
    """
    from mlflow.entities import Param

    from factory_assets.lib.packaging import data_version
    from factory_assets.lib.training.candidates import (
        BASELINE,
        architectures,
        baseline_of,
        candidate_metrics,
        choose,
        log_metrics,
        run_params,
        train_trials,
        trial_table,
    )
    from factory_assets.lib.training.models import save
    from factory_assets.lib.training.refit import refit_metrics, refit_run

    architectures(config)  # an unknown one fails before a run is created
    if config.shuffle_labels:
        frame = frame.with_columns(pl.col(line.columns.label).shuffle(seed=cfg.seed))
    registry = tracking.registry()
    experiment = registry.experiment(line.name, tracking.artifact_location)
    versions = {
        "data_version": data_version(frame, (cfg.train_start, cfg.val_window[1].isoformat())),
        "code_version": code,
        **({"lake_snapshot": str(lake_snapshot)} if lake_snapshot is not None else {}),
    }
    name = line.registry_name(segment)
    run = registry.client.create_run(
        experiment,
        run_name=f"{name}-{run_id[:8]}",
        tags={"dagster_run_id": run_id, "factory/segment": segment or "", **versions},
    )
    trials, search = train_trials(frame, cfg, config, line, tracking, run, space)
    chosen = choose(trials, config.architecture)
    outcome, seconds, client = chosen.outcome, sum(t.seconds for t in trials), registry.client
    baseline, reused = baseline_of(frame, cfg, line, trials)
    cfg = chosen.config or cfg  # a search's best
    folders, refitted = {"training": chosen, BASELINE: baseline}, {}
    if refit:
        refitted, refit = refit_run(frame, cfg, *refit, line, folders)
    params = {**run_params(cfg, chosen, config), "shuffle_labels": config.shuffle_labels}
    if len(trials) > 1:
        params["candidates"] = ",".join(t.architecture for t in trials)
    if refit:
        params["refit_window"] = " … ".join(refit["window"])
    # one write, not one per parameter: on SQLite each is a transaction of 10-20 ms
    client.log_batch(run.info.run_id, params=[Param(k, str(v)) for k, v in params.items()])
    logged = {} if params["architecture"] == "mlp" and len(trials) == 1 else outcome.metrics
    log_metrics(client, run.info.run_id, {
        **logged,  # the net logged its epochs on the run itself
        **(candidate_metrics(trials) if len(trials) > 1 else {}),
        **{f"{BASELINE}/{k}": v for k, v in baseline.outcome.metrics.items()},
        f"{BASELINE}/seconds": baseline.seconds,
        **refit_metrics(refit),
    })  # fmt: skip
    outcomes = {k: t.outcome for k, t in folders.items()} | refitted
    for folder, fitted in outcomes.items():
        with tempfile.TemporaryDirectory() as tmp:
            pre, model = fitted.preprocessor, fitted.net
            save(model, pre, Path(tmp), cfg.hidden, cfg.dropout)
            client.log_artifacts(run.info.run_id, tmp, folder)
        TRAINED.put(cache_key(run.info.run_id, folder), model, pre)
    registry.client.set_terminated(run.info.run_id)
    return {
        "run_id": run.info.run_id,
        **versions,
        "segment": segment,
        "config": params,
        "architecture": chosen.architecture,
        "asked": config.architecture,  # the spec's: auto's choice may meet a stand-in, not blend's
        "candidates": trial_table(trials, chosen, line) if len(trials) > 1 else None,
        "baseline": {
            "metrics": baseline.outcome.metrics,
            "train_seconds": round(baseline.seconds, 3),
            "reused": reused,  # auto's gbdt candidate is the baseline (its recipe): not refitted
        },
        "metrics": outcome.metrics,
        "train_window": [cfg.train_start, cfg.train_end],
        "val_window": [d.isoformat() for d in cfg.val_window],
        # the served model's refit (None: the gated model serves): its window, rows, folders
        "refit": refit or None,
        "trained_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "train_rows": outcome.train_rows,
        "train_seconds": round(seconds, 3),
        "accelerator": outcome.accelerator,
        "precision": outcome.precision,
        "search": None if search is None else search.to_markdown(),
        # batches landed by then (keys sort as batches come): later ones are not its reference
        **({"last_batch": frame[line.batch_column].max()} if line.batches else {}),
    }


def cache_key(run_id: str, folder: str = "training") -> str:
    """TRAINED's key of the model a run logged under ``folder`` (training, baseline)."""
    return run_id if folder == "training" else f"{run_id}/{folder}"


def load_run_model(tracking, run_id: str, folder: str = "training") -> tuple[object, object]:  # noqa: ANN001
    """The model and preprocessor logged by the model station under the run's ``folder``.

    ``training/``: the model; ``baseline/``: its gradient-boosted baseline. A model station of
    this process leaves a copy in TRAINED (in-process executor): no download.
    """
    from mlflow.artifacts import download_artifacts

    from factory_assets.lib.training.models import load

    cached = TRAINED.get(cache_key(run_id, folder))
    if cached is not None:
        return cached
    with tempfile.TemporaryDirectory() as tmp:
        local = download_artifacts(
            run_id=run_id,
            artifact_path=folder,
            dst_path=tmp,
            tracking_uri=tracking.tracking_uri,
        )
        return load(Path(local))
