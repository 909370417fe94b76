"""The blend: the mean of the net's and the trees' served predictions, one more candidate of auto.

``architecture: auto`` with ``blend`` among its candidates (the default) also judges, on the
same validation rows, the mean of what its ``mlp`` and ``gbdt`` candidates serve: probabilities
(each calibrated on validation), class probabilities or values. It trains nothing more. Chosen
when its validation score is the best; then the package serves both models in one ONNX graph of
the usual signature (``cat``, ``num`` in, the task's output out; lib/training/blend_onnx.py),
so registry, batch and online scoring and drift read it as any other. A refit
(lib/training/refit.py) refits each part. ``architecture: blend`` trains both and serves the
blend, whatever validation says.

Both parts read one (cat, num): their preprocessors must transform alike (the same fit on the
same training rows; calibration aside, each part keeps its own). Where they do not (a spec
scaling the net's inputs otherwise), there is no blend candidate.

Over nycflights' replayed year (README, "The blend served"), auto chose it for half of the
versions, and flights' served AUC rose from 0.7002 to 0.7155 pooled per month (0.6588 to
0.6655 per day), above a GBDT retrained monthly.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl

from factory_assets.lib.training.dataset import Preprocessor

ARCHITECTURE = "blend"
PARTS = ("mlp", "gbdt")  # what a blend averages, in this order


@dataclass
class BlendModel:
    """Models averaged: (architecture, model, its own preprocessor) per part."""

    parts: list[tuple[str, object, Preprocessor]] = field(default_factory=list)
    architecture: str = ARCHITECTURE


@dataclass
class BlendOutcome:
    """A blend, its shared preprocessor, validation metrics, and the trials it averages."""

    model: BlendModel
    preprocessor: Preprocessor
    metrics: dict[str, float]
    train_rows: int
    trials: list = field(default_factory=list)  # candidates.Trial per part (a refit's input)
    accelerator: str = "cpu"
    precision: str = "blend"

    @property
    def net(self) -> BlendModel:
        """The model, under the name the net's outcome (TrainOutcome) uses."""
        return self.model


def _fit_only(pre: Preprocessor) -> dict:
    """What a preprocessor does to rows: its state without the calibration."""
    state = dataclasses.asdict(pre)
    state.pop("calibration")
    return state


def shared(pres: list[Preprocessor]) -> Preprocessor | None:
    """The blend's preprocessor (the first part's, identity calibration); None: they differ."""
    first = _fit_only(pres[0])
    if any(_fit_only(p) != first for p in pres[1:]):
        return None
    return dataclasses.replace(pres[0], calibration={"scale": 1.0, "shift": 0.0})


def of(outcomes: list, names: list[str]) -> tuple[BlendModel, Preprocessor] | None:
    """The blend of fitted ``outcomes`` (TrainOutcome, GbdtOutcome) named by architecture."""
    pre = shared([o.preprocessor for o in outcomes])
    if pre is None:
        return None
    parts = [(n, o.net, o.preprocessor) for n, o in zip(names, outcomes, strict=True)]
    return BlendModel(parts), pre


def predict_served(model: BlendModel, cat: np.ndarray, num: np.ndarray) -> np.ndarray:
    """The mean of the parts' served predictions (each through its own calibration)."""
    from factory_assets.lib.training.models import predict_served as served

    outputs = [np.asarray(served(m, p, cat, num), dtype=np.float64) for _, m, p in model.parts]
    return np.mean(outputs, axis=0)


def blend_trial(trials: list, frame: pl.DataFrame, cfg, line):  # noqa: ANN001, ANN201
    """The blend candidate of auto from its ``mlp`` and ``gbdt`` trials, judged on validation.

    None when a part is missing or the parts' preprocessors transform differently.
    """
    import time

    from factory_assets.lib.training.candidates import Trial
    from factory_assets.lib.training.gbdt import labelled_rows, val_metrics, window_targets

    found = {t.architecture: t for t in trials}
    if not all(name in found for name in PARTS):
        return None
    started = time.perf_counter()
    parts = [found[name] for name in PARTS]
    blended = of([t.outcome for t in parts], list(PARTS))
    if blended is None:
        return None
    model, pre = blended
    val = labelled_rows(frame, cfg.val_window, line.columns)
    y = window_targets(line.task, val, line.columns.label, "validation", cfg.val_window)
    metrics = val_metrics(line.task, y, predict_served(model, *pre.transform(val)))
    rows = max(t.outcome.train_rows for t in parts)
    outcome = BlendOutcome(model, pre, metrics, rows, parts, parts[0].outcome.accelerator)
    seconds = time.perf_counter() - started
    return Trial(ARCHITECTURE, outcome, seconds, found["mlp"].config)


def with_blend(trials: list, frame: pl.DataFrame, cfg, line, required: bool) -> list:  # noqa: ANN001
    """``trials`` and their blend (``blend_trial``) where there is one.

    Raises:
        ValueError: ``required`` (architecture blend) and no blend.
    """
    blended = blend_trial(trials, frame, cfg, line)
    if blended is None and required:
        raise ValueError(
            "architecture blend: the net's and the trees' preprocessors transform the "
            "inputs differently (training.scaling other than robust?): no blend to serve"
        )
    return [*trials, blended] if blended is not None else trials


def save(model: BlendModel, pre: Preprocessor, directory: Path, hidden, dropout) -> None:  # noqa: ANN001
    """Each part under ``parts/<architecture>/`` (models.save), and the shared preprocessor."""
    from factory_assets.lib.training import models

    for name, part, part_pre in model.parts:
        models.save(part, part_pre, directory / "parts" / name, hidden, dropout)
    (directory / "preprocessor.json").write_text(pre.to_json())
    (directory / "blend.json").write_text(json.dumps({"parts": [n for n, _, _ in model.parts]}))


def load(directory: Path) -> tuple[BlendModel, Preprocessor]:
    """The blend and preprocessor ``save`` wrote."""
    from factory_assets.lib.training import models

    names = json.loads((directory / "blend.json").read_text())["parts"]
    parts = [(n, *models.load(directory / "parts" / n)) for n in names]
    pre = Preprocessor.from_json((directory / "preprocessor.json").read_text())
    return BlendModel(parts), pre


def refit(trial, refit_part) -> BlendOutcome:  # noqa: ANN001 (a Trial; Trial -> outcome)
    """The blend of its parts' refits (``refit_part``: one part's refit, shared with others).

    Raises:
        ValueError: the refitted parts' preprocessors transform differently.
    """
    outcomes = [refit_part(t) for t in trial.outcome.trials]
    names = [t.architecture for t in trial.outcome.trials]
    blended = of(outcomes, names)
    if blended is None:
        raise ValueError(f"the refits of {names} fitted different preprocessors: no blend")
    metrics = {
        f"refit/{n}/{k.removeprefix('refit/')}": v
        for n, o in zip(names, outcomes, strict=True)
        for k, v in o.metrics.items()
    }
    rows = max(o.train_rows for o in outcomes)
    return BlendOutcome(*blended, metrics, rows, [], outcomes[0].accelerator)
