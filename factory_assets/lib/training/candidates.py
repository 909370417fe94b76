"""Which architecture a training run fits, how ``auto`` chooses, and the baseline beside it.

``architecture: auto`` trains each of the spec's ``candidates`` (mlp, gbdt) on the same windows
and keeps the best on validation (``val/score``: the task's primary metric, higher is better);
``blend`` among them also judges the mean of the two (lib/training/blend.py, nothing trained).
Every training also fits the baseline: gradient-boosted trees of the default recipe
(``GbdtConfig()``), on the same inputs and windows, so that evaluation and the gate can tell
whether the model is at least as good as plain trees. A tree model of the default recipe is its
own baseline (the same trees: not fitted twice).
"""

import dataclasses
import math
import time
from dataclasses import dataclass

import polars as pl

from factory_assets.lib.markdown import markdown_table
from factory_assets.lib.model_line import ModelLine
from factory_assets.lib.tasks import metric_label
from factory_assets.lib.training.gbdt import GbdtConfig
from factory_assets.lib.training.train import TrainConfig, val_metric

ARCHITECTURES = ("mlp", "gbdt")  # what a run trains; auto chooses among its candidates
BLEND = "blend"  # auto's candidate averaging its mlp and gbdt (trains nothing)
BASELINE = "baseline"  # the artifact folder and metric prefix of the baseline on a model's run


@dataclass
class Trial:
    """One candidate architecture trained: its outcome, validation metrics and seconds."""

    architecture: str
    outcome: object  # a TrainOutcome (mlp) or GbdtOutcome (gbdt)
    seconds: float
    config: TrainConfig | None = None  # the net's (a search's best), None for trees

    @property
    def score(self) -> float:
        """``val/score``; a NaN or missing one ranks last."""
        value = float(self.outcome.metrics.get("val/score", float("nan")))
        return -math.inf if math.isnan(value) else value


def fit_mlp(frame: pl.DataFrame, cfg: TrainConfig, line: ModelLine, tracking, run_id: str):  # noqa: ANN001, ANN202
    """The net trained with Lightning, logging its epochs on the MLflow run ``run_id``."""
    from lightning.pytorch.loggers import MLFlowLogger

    from factory_assets.lib.training.train import train_model

    logger = MLFlowLogger(
        experiment_name=line.name, tracking_uri=tracking.tracking_uri, run_id=run_id
    )
    started = time.perf_counter()
    outcome = train_model(frame, cfg, logger=logger, columns=line.columns, task=line.task)
    return outcome, time.perf_counter() - started


def search_mlp(frame, cfg: TrainConfig, trials: int, space: dict, line, tracking, parent) -> tuple:  # noqa: ANN001
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
        outcome, seconds = fit_mlp(frame, trial_cfg, line, tracking, child.info.run_id)
        client.set_terminated(child.info.run_id)
        outcomes[number] = (outcome, seconds, trial_cfg)
        return outcome.metrics["val/score"]  # the task's primary metric, higher is better

    result = run_search(space, trials, objective, seed=cfg.seed, direction="maximize")
    outcome, seconds, best_cfg = outcomes[result.best_number]
    total = sum(s for _, s, _ in outcomes.values())
    return outcome, total, best_cfg, result


def architectures(config) -> list[str]:  # noqa: ANN001 (the station's Training config)
    """What a run of ``config`` trains: its architecture, auto's candidates, blend's parts.

    auto's ``blend`` is not trained: it is judged after its parts (``train_trials``).

    Raises:
        ValueError: an architecture or candidate other than mlp and gbdt (auto: none at all;
            its blend without both mlp and gbdt).
    """
    if config.architecture == BLEND:
        return list(ARCHITECTURES)  # both trained, their mean served
    auto = config.architecture == "auto"
    names = list(config.candidates) if auto else [config.architecture]
    blend = auto and BLEND in names
    names = [n for n in names if n != BLEND or not auto]
    unknown = [n for n in names if n not in ARCHITECTURES] or ([] if names else ["(none)"])
    if blend and not all(n in names for n in ARCHITECTURES):
        unknown = [f"{BLEND} without both {' and '.join(ARCHITECTURES)}"]
    if unknown:
        raise ValueError(
            f"training architecture {config.architecture!r} with candidates "
            f"{list(config.candidates)}: {unknown[0]!r} is unknown; allowed: mlp, gbdt, blend, "
            "auto (candidates: mlp, gbdt, blend)"
        )
    return names


def train_trials(
    frame, cfg: TrainConfig, config, line, tracking, run, space
) -> tuple[list, object]:  # noqa: ANN001, PLR0913
    """The trials of the run's architecture: one, or one per candidate of ``auto``.

    Each candidate of ``auto`` (and each part of ``blend``) trains in a child run of ``run``
    (a search's trials too); the blend follows its parts.
    Returns the trials (lib/training/candidates.py) and the search (None: none ran).

    Raises:
        ValueError: architecture blend whose parts read their inputs differently.
    """
    auto = config.architecture in ("auto", BLEND)
    client = tracking.registry().client
    names = architectures(config)
    trials, search = [], None
    for name in names:
        target = run.info.run_id
        if auto:
            child = client.create_run(
                run.info.experiment_id,
                run_name=f"{run.info.run_name}-{name}",
                tags={"mlflow.parentRunId": run.info.run_id, "factory/candidate": name},
            )
            target = child.info.run_id
        if name == "gbdt":
            recipe = gbdt_config(config, cfg.seed)
            trial = fit_gbdt(frame, cfg, recipe, line)
            if auto:
                from mlflow.entities import Param

                log_metrics(client, target, trial.outcome.metrics)
                params = [Param(k, str(v)) for k, v in recipe.params().items()]
                client.log_batch(target, params=params)
        elif config.trials and space:
            outcome, seconds, best, search = search_mlp(
                frame, cfg, config.trials, space, line, tracking, run
            )
            trial = Trial("mlp", outcome, seconds, best)
        else:
            outcome, seconds = fit_mlp(frame, cfg, line, tracking, target)
            trial = Trial("mlp", outcome, seconds, cfg)
        if auto:
            client.set_terminated(target)
        trials.append(trial)
    if config.architecture == BLEND or (auto and BLEND in config.candidates):
        from factory_assets.lib.training.blend import with_blend

        trials = with_blend(trials, frame, cfg, line, required=config.architecture == BLEND)
    return trials, search


def gbdt_config(config, seed: int) -> GbdtConfig:  # noqa: ANN001 (the station's Training config)
    """The trees' recipe of a station's run config (its flat ``gbdt_*`` fields)."""
    values = {k[5:]: v for k, v in config.model_dump().items() if k.startswith("gbdt_")}
    return GbdtConfig.of(values, seed)


def baseline_config(seed: int) -> GbdtConfig:
    """The baseline's recipe: the default one, with the run's seed."""
    return GbdtConfig(seed=seed)


def fit_gbdt(frame: pl.DataFrame, cfg: TrainConfig, recipe: GbdtConfig, line: ModelLine) -> Trial:
    """Trees of ``recipe`` on the run's windows of ``frame``."""
    from factory_assets.lib.training.gbdt import train_gbdt

    started = time.perf_counter()
    outcome = train_gbdt(
        frame, cfg.train_window, cfg.val_window, recipe, columns=line.columns, task=line.task
    )
    return Trial("gbdt", outcome, time.perf_counter() - started)


def choose(trials: list[Trial], architecture: str = "auto") -> Trial:
    """The trial of the best ``val/score`` (the first listed among equals); blend: the blend."""
    if architecture == BLEND:
        return next(t for t in trials if t.architecture == BLEND)
    return max(trials, key=lambda t: t.score)  # max keeps the first of equal keys


def trial_table(trials: list[Trial], chosen: Trial, line: ModelLine) -> str:
    """The candidates as a markdown table: validation metrics, seconds, which was chosen."""
    names = line.task.metric_names
    rows = [
        (
            t.architecture,
            *(f"{t.outcome.metrics.get(val_metric(m), float('nan')):.4f}" for m in names),
            f"{t.score:.4f}",
            f"{t.seconds:.1f}",
            "chosen" if t is chosen else "",
        )
        for t in trials
    ]
    header = ["candidate", *(f"val {metric_label(m)}" for m in names), "val score", "seconds", ""]
    return markdown_table(header, rows)


def candidate_metrics(trials: list[Trial]) -> dict[str, float]:
    """``candidate/<architecture>/val/...`` and ``.../seconds`` of every trial, for MLflow."""
    out = {}
    for t in trials:
        for key, value in t.outcome.metrics.items():
            if key.startswith("val/"):
                out[f"candidate/{t.architecture}/{key}"] = float(value)
        out[f"candidate/{t.architecture}/seconds"] = t.seconds
    return out


def baseline_of(
    frame: pl.DataFrame, cfg: TrainConfig, line: ModelLine, trials: list[Trial]
) -> tuple[Trial, bool]:
    """The baseline of a run, and whether it is one of ``trials`` (trees of its recipe)."""
    recipe = baseline_config(cfg.seed)
    for t in trials:
        if t.architecture == "gbdt" and t.outcome.model.config == recipe:
            return t, True
    return fit_gbdt(frame, cfg, recipe, line), False


def run_params(cfg: TrainConfig, chosen: Trial, config) -> dict:  # noqa: ANN001 (Training config)
    """The parameters of the chosen model: the net's knobs, or the windows and the trees'."""
    if chosen.architecture == "mlp":
        return {**cfg.params(), "architecture": "mlp"}
    if chosen.architecture == BLEND:
        return {**cfg.params(), "architecture": BLEND, **gbdt_config(config, cfg.seed).params()}
    kept = ("train_start", "train_end", "val_days", "seed")
    windows = {k: v for k, v in cfg.params().items() if k in kept}
    return {**windows, "architecture": "gbdt", **gbdt_config(config, cfg.seed).params()}


def log_metrics(client, run_id: str, metrics: dict[str, float]) -> None:  # noqa: ANN001
    """``metrics`` on an MLflow run in one write (SQLite: 10-20 ms a write)."""
    from mlflow.entities import Metric

    now = int(time.time() * 1000)
    batch = [Metric(k, float(v), now, 0) for k, v in metrics.items()]
    if batch:
        client.log_batch(run_id, metrics=batch)
