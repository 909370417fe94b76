"""Run config of a model's stations, with the spec's values as the defaults the UI shows."""

from typing import Literal

import dagster as dg
import pydantic


class Training(dg.Config):
    """Training window (validation: the ``val_days`` after it) and hyper-parameters."""

    train_start: str
    train_end: str
    val_days: int
    max_epochs: int
    batch_size: int
    lr: float
    weight_decay: float
    hidden: list[int]
    dropout: float
    seed: int
    # the MLP recipe (lib/training/train.py TrainConfig); defaults for run configs before it
    patience: int = 4
    monitor: Literal["score", "loss"] = "score"
    lr_schedule: Literal["cosine", "constant"] = "cosine"
    scaling: Literal["robust", "standard"] = "robust"
    embedding_cap: int = 16
    # mlp, gbdt or auto (the best of ``candidates`` on validation, blend: the mean of mlp and
    # gbdt); the trees' recipe, flat
    architecture: str = "mlp"
    candidates: list[str] = ["mlp", "gbdt", "blend"]
    gbdt_learning_rate: float = 0.05
    gbdt_max_trees: int = 500
    gbdt_num_leaves: int = 31
    gbdt_min_child_samples: int = 20
    gbdt_early_stopping: int = 30
    gbdt_num_threads: int = 2
    trials: int = 0  # Optuna trials over the spec's search space; 0 trains once
    shuffle_labels: bool = False  # a sanity run: a model of noise must never reach champion
    refit_on_all: bool = True  # serve a refit on train + validation + holdout (lib/training/refit)
    # the holdout the model will be judged on, and the fewest labelled rows validation and
    # holdout need: checked before any training time is spent ("" holdout: not checked)
    holdout_start: str = ""
    holdout_end: str = ""
    min_rows: int = 30
    # read the rows as the lake was at this snapshot id (a retrain of a version's recorded
    # rows: its lake_snapshot tag); None: the newest
    lake_snapshot: int | None = None


class Holdout(dg.Config):
    """The fixed holdout every model (challenger and champion) is judged on."""

    holdout_start: str
    holdout_end: str
    importance_rows: int
    min_segment_rows: int
    min_rows: int = 30  # fewest labelled rows validation and holdout need (checked before training)
    live_periods: int = 14  # newest labelled served periods champion and challenger meet on; 0 off
    leakage_max_score: float = 0.99  # an input scoring this alone is a leak (lib/tasks.py)
    leakage_allow: list[str] = []  # inputs allowed to score that well


class Packaging(Holdout):
    """The gate (bounds, metric, margin: lib/registry.py GateConfig) and ONNX parity tolerance."""

    metric: str
    floors: dict[str, float]
    margin: float
    beat_baseline: bool = True  # refuse a challenger worse than the baseline on the holdout
    parity_atol: float = 1e-5
    parity_rows: int = 2000


class Drift(dg.Config):
    """How much drift the model tolerates, and what the report shows."""

    window: int  # periods (batches) judged together, ending with the judged one
    alpha: float  # false-alarm rate per period of the calibrated threshold
    max_drifted_share: float | None = None  # an optional extra bound on the drifted share
    column_threshold: float
    relations: bool = True  # also watch each numeric input's residual given the others
    floors: dict[str, float] = {}  # the performance bounds the estimate before labels is held to
    # Evidently's HTML report: "always", "drifted" (only when the check fails) or "never";
    # the verdicts never depend on it
    html_report: Literal["always", "drifted", "never"]
    report_reference_rows: int = 5000


class Performance(dg.Config):
    """The bounds a period's served predictions must meet once labelled (metric -> bound)."""

    floors: dict[str, float]
    min_rows: int  # fewer labelled rows say nothing about the model
    window: int  # periods judged together at most when one has fewer than min_rows
    alpha: float = 0.05  # level of the sequential test over the champion's periods


def with_defaults(base: type[dg.Config], name: str, values: dict) -> type[dg.Config]:
    """``base`` with the spec's ``values`` as field defaults, named after the model."""
    fields = {
        key: (base.model_fields[key].annotation, value)
        for key, value in values.items()
        if key in base.model_fields
    }
    return pydantic.create_model(name, __base__=base, __doc__=base.__doc__, **fields)


def configs(spec) -> dict[str, type[dg.Config]]:  # noqa: ANN001 (ModelSpec)
    """The station configs of ``spec``: training, holdout, packaging, drift, performance."""
    title = "".join(part.title() for part in spec.name.split("_"))
    windows = spec.windows()  # the spec's dates, or a model without data.date's split
    leakage = spec.evaluation.leakage
    holdout = {
        **spec.evaluation.model_dump(),
        **windows,
        "leakage_max_score": leakage.max_score,
        "leakage_allow": list(leakage.allow),
    }
    gate = {
        "metric": spec.gate.metric or spec.task_spec().primary,
        "floors": spec.gate_floors(),
        "margin": spec.gate.margin,
        "beat_baseline": spec.gate.beat_baseline,
    }
    performance = {**spec.monitoring.performance.model_dump(), "floors": spec.performance_floors()}
    trials = spec.search.trials if spec.search else 0
    training = {
        **spec.training.model_dump(),
        **{f"gbdt_{k}": v for k, v in spec.training.gbdt.model_dump().items()},
        **windows,
        "trials": trials,
        "min_rows": spec.evaluation.min_rows,
    }
    return {
        "training": with_defaults(Training, f"{title}Training", training),
        "holdout": with_defaults(Holdout, f"{title}Holdout", holdout),
        "packaging": with_defaults(Packaging, f"{title}Packaging", {**holdout, **gate}),
        "drift": with_defaults(
            Drift,
            f"{title}Drift",
            {**spec.monitoring.drift.model_dump(), "floors": spec.performance_floors()},
        ),
        "performance": with_defaults(Performance, f"{title}Performance", performance),
    }
