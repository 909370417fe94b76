"""Gradient-boosted trees (LightGBM) on the inputs the net reads, for every task.

The trees read what the fitted Preprocessor (lib/training/dataset.py) gives the net: the
categorical codes (0: unknown or missing) as LightGBM categorical features, then the numerics
as scaled (a null is the training mean, with its missing flag). So the packaged graph takes the
net's two inputs, ``cat`` and ``num`` (lib/training/gbdt_onnx.py).

Trained on the training window, early-stopped on the validation window, then calibrated there
(lib/training/calibration.py: Platt for binary, temperature for multiclass) so that its served
probabilities are ``sigmoid(scale * margin + shift)`` or ``softmax(scale * margins)``.
Regression trees learn the label in its own units. lightgbm is imported inside the functions.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field, fields

import numpy as np
import polars as pl

from factory_assets.lib.tasks import HIGHER_IS_BETTER, LabelError, Task
from factory_assets.lib.training.dataset import ModelColumns, Preprocessor

ARCHITECTURE = "gbdt"
OBJECTIVES = {"binary": "binary", "regression": "regression", "multiclass": "multiclass"}


@dataclass(frozen=True)
class GbdtConfig:
    """The tree recipe; its defaults are the baseline every training also fits."""

    learning_rate: float = 0.05
    max_trees: int = 500
    num_leaves: int = 31
    min_child_samples: int = 20
    early_stopping: int = 30  # rounds without a better validation loss before stopping
    num_threads: int = 2
    seed: int = 13

    @classmethod
    def of(cls, values: dict | None, seed: int) -> GbdtConfig:
        """A config from a spec's ``training.gbdt`` (unknown keys ignored) and the run's seed."""
        known = {f.name for f in fields(cls)} - {"seed"}
        return cls(**{k: v for k, v in (values or {}).items() if k in known}, seed=seed)

    def params(self) -> dict:
        """Flat parameters for tracking, prefixed ``gbdt_``."""
        return {f"gbdt_{k}": v for k, v in asdict(self).items()}


@dataclass
class GbdtModel:
    """A trained LightGBM booster and its recipe; ``architecture`` names it for the dispatch."""

    booster: object  # lightgbm.Booster
    config: GbdtConfig = field(default_factory=GbdtConfig)
    architecture: str = ARCHITECTURE

    def margins(self, cat: np.ndarray, num: np.ndarray) -> np.ndarray:
        """Raw scores: [n] (binary logit, regression value) or [n, classes] (class logits)."""
        return np.asarray(self.booster.predict(features(cat, num), raw_score=True))


def features(cat: np.ndarray, num: np.ndarray) -> np.ndarray:
    """The trees' input: categorical codes then numerics, one float32 matrix (as the graph)."""
    return np.concatenate([cat.astype(np.float32), num.astype(np.float32)], axis=1)


def served(task: Task, margins: np.ndarray, calibration: dict) -> np.ndarray:
    """Served predictions from raw ``margins`` and the preprocessor's ``calibration``.

    binary ``sigmoid(scale * m + shift)``; multiclass ``softmax(scale * m)``; regression ``m``.
    """
    scale, shift = float(calibration["scale"]), float(calibration["shift"])
    m = np.asarray(margins, dtype=np.float64)
    if task.kind == "regression":
        return m.reshape(-1)
    if task.kind == "multiclass":
        z = scale * m.reshape(m.shape[0], -1)
        z -= z.max(axis=1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=1, keepdims=True)
    return 1.0 / (1.0 + np.exp(-(scale * m.reshape(-1) + shift)))


def predict_served(model: GbdtModel, pre: Preprocessor, cat: np.ndarray, num: np.ndarray):  # noqa: ANN201
    """What the package serves for (cat, num): lib/tasks.py shapes."""
    return served(pre.model_task, model.margins(cat, num), pre.calibration)


def _floor32(value: float) -> float:
    """The largest float32 at or below ``value``."""
    low = np.float32(value)
    if float(low) > value:
        low = np.nextafter(low, np.float32(-np.inf))
    return float(low)


def float32_thresholds(text: str) -> str:
    """A LightGBM model text whose split thresholds are float32 numbers, rounded down.

    The trees read float32 inputs (``features``); ONNX keeps their thresholds in float32. A
    float64 threshold ``t`` between two float32 values rounds (to nearest) onto the value above
    it, which then goes left in the graph and right in LightGBM. Rounded down, ``v <= t`` and
    ``v <= floor32(t)`` agree for every float32 ``v``: the same trees, in both. Categorical
    splits' thresholds are small integers, which float32 holds exactly.
    """
    lines = []
    for line in text.split("\n"):
        if line.startswith("tree_sizes="):
            continue  # byte sizes of the trees as written: LightGBM reads them one by one
        if line.startswith("threshold="):
            values = line.removeprefix("threshold=").split()
            line = "threshold=" + " ".join(repr(_floor32(float(v))) for v in values)
        lines.append(line)
    return "\n".join(lines)


def labelled_rows(frame: pl.DataFrame, window: tuple, columns: ModelColumns) -> pl.DataFrame:
    """The rows of ``frame`` in ``window`` (inclusive dates) whose label is known."""
    start, end = window
    return frame.filter(
        pl.col(columns.date).is_between(start, end), pl.col(columns.label).is_not_null()
    )


def window_targets(
    task: Task, rows: pl.DataFrame, label: str, name: str, window: tuple
) -> np.ndarray:
    """The task's targets of ``rows``; a LabelError names the ``name`` window it read."""
    try:
        return task.encode(rows[label])
    except LabelError as error:
        raise LabelError(f"{name} window {window[0]}..{window[1]}: {error}") from error


def _params(task: Task, config: GbdtConfig) -> dict:
    params = {
        "objective": OBJECTIVES[task.kind],
        "learning_rate": config.learning_rate,
        "num_leaves": config.num_leaves,
        "min_child_samples": config.min_child_samples,
        "num_threads": config.num_threads,
        "seed": config.seed,
        "deterministic": True,
        "force_row_wise": True,  # with deterministic: the same trees on every run
        "verbose": -1,
    }
    if task.kind == "multiclass":
        params["num_class"] = len(task.classes)
    return params


def val_metrics(task: Task, y: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    """The task's metrics under the net's names (``val/auroc``, ...) and ``val/score``."""
    from factory_assets.lib.training.train import val_metric

    metrics = task.metrics(y, pred)
    out = {val_metric(m): float(metrics[m]) for m in task.metric_names}
    primary = float(metrics[task.primary])
    out["val/score"] = primary if HIGHER_IS_BETTER[task.primary] else -primary
    return out


@dataclass
class GbdtOutcome:
    """A fitted tree model, its preprocessor (calibrated), validation metrics and rows."""

    model: GbdtModel
    preprocessor: Preprocessor
    metrics: dict[str, float]
    train_rows: int
    seconds: float
    accelerator: str = "cpu"
    precision: str = "lightgbm"

    @property
    def net(self) -> GbdtModel:
        """The model, under the name the net's outcome (TrainOutcome) uses."""
        return self.model


def train_gbdt(  # noqa: PLR0913
    frame: pl.DataFrame,
    train_window: tuple,
    val_window: tuple,
    config: GbdtConfig,
    *,
    columns: ModelColumns,
    task: Task | None = None,
) -> GbdtOutcome:
    """Fit trees on ``train_window`` of ``frame``, early-stopped and calibrated on ``val_window``.

    Raises:
        ValueError: no labelled rows in one of the windows.
        LabelError: a label that does not fit the task (naming the window).
    """
    import lightgbm as lgb

    from factory_assets.lib.training import calibration

    task = task or Task()
    started = time.perf_counter()
    train = labelled_rows(frame, train_window, columns)
    val = labelled_rows(frame, val_window, columns)
    if train.height == 0 or val.height == 0:
        raise ValueError(
            f"no labelled rows in the training window {train_window} "
            f"or the validation window {val_window}"
        )
    y_train = window_targets(task, train, columns.label, "training", train_window)
    y_val = window_targets(task, val, columns.label, "validation", val_window)
    pre = Preprocessor.fit(train, columns, task)
    x_train, x_val = features(*pre.transform(train)), features(*pre.transform(val))
    categorical = list(range(len(pre.categorical)))
    data = lgb.Dataset(x_train, y_train, categorical_feature=categorical, free_raw_data=True)
    valid = lgb.Dataset(x_val, y_val, categorical_feature=categorical, reference=data)
    booster = lgb.train(
        _params(task, config),
        data,
        num_boost_round=config.max_trees,
        valid_sets=[valid],
        callbacks=[lgb.early_stopping(config.early_stopping, verbose=False)],
    )
    # the best iteration's trees only, thresholds on float32: what is saved, converted and served
    model = GbdtModel(lgb.Booster(model_str=float32_thresholds(booster.model_to_string())), config)
    margins = model.margins(*pre.transform(val))
    pre.calibration = calibration.fit(task, margins, y_val).to_dict()
    pred = served(task, margins, pre.calibration)
    metrics = val_metrics(task, y_val, pred)
    metrics["val/best_iteration"] = float(booster.best_iteration)
    return GbdtOutcome(model, pre, metrics, train.height, time.perf_counter() - started)


def refit_gbdt(
    frame: pl.DataFrame, window: tuple, fitted: GbdtOutcome, *, columns: ModelColumns, task: Task
) -> GbdtOutcome:
    """``fitted``'s recipe on every labelled row of ``window`` (lib/training/refit.py).

    No early stopping: ``fitted``'s early-stopped number of trees, scaled by the rows (the
    window's over ``fitted``'s training rows). The preprocessor is fitted on the window's rows,
    and the served probabilities are the trees' own (no calibration: lib/training/refit.py).
    """
    import lightgbm as lgb

    started = time.perf_counter()
    rows = labelled_rows(frame, window, columns)
    y = window_targets(task, rows, columns.label, "refit", window)
    pre = Preprocessor.fit(rows, columns, task)  # its calibration: the identity
    best = int(fitted.metrics.get("val/best_iteration") or 0)
    best = best or fitted.model.booster.current_iteration()
    trees = max(1, round(best * rows.height / max(fitted.train_rows, 1)))
    categorical = list(range(len(pre.categorical)))
    data = lgb.Dataset(features(*pre.transform(rows)), y, categorical_feature=categorical)
    booster = lgb.train(_params(task, fitted.model.config), data, num_boost_round=trees)
    text = float32_thresholds(booster.model_to_string())
    model = GbdtModel(lgb.Booster(model_str=text), fitted.model.config)
    seconds = time.perf_counter() - started
    return GbdtOutcome(model, pre, {"refit/trees": float(trees)}, rows.height, seconds)


def save(model: GbdtModel, directory) -> None:  # noqa: ANN001 (a Path)
    """Write ``gbdt.txt`` (LightGBM's model text) and ``gbdt.json`` (the recipe)."""
    import json

    model.booster.save_model(str(directory / "gbdt.txt"))
    (directory / "gbdt.json").write_text(json.dumps(asdict(model.config)))


def load(directory) -> GbdtModel:  # noqa: ANN001 (a Path)
    """The model written by ``save``."""
    import json

    import lightgbm as lgb

    booster = lgb.Booster(model_file=str(directory / "gbdt.txt"))
    config = GbdtConfig(**json.loads((directory / "gbdt.json").read_text()))
    return GbdtModel(booster, config)
