"""Training a model of a spec: seeded, bf16 on a GPU, fp32 on the CPU.

The recipe: numerics scaled robustly (dataset.py), embeddings sized by cardinality, AdamW on a
warm-up + cosine schedule (tabular_module.py), early stopping on the validation window with the
best epoch's weights restored, and a calibration fitted on that window (recipe.py).
"""

import datetime as dt
from dataclasses import asdict, dataclass, field

import polars as pl

from factory_assets.lib.tasks import Task
from factory_assets.lib.training.dataset import ModelColumns, Preprocessor

VAL_NAMES = {"auc": "auroc"}  # binary's val/auroc: its name since the first model line


def val_metric(metric: str) -> str:
    """A task metric's name in the training metrics: ``val/auroc``, ``val/rmse``, ..."""
    return f"val/{VAL_NAMES.get(metric, metric)}"


@dataclass(frozen=True)
class TrainConfig:
    """Knobs of one training run (dates are ISO strings so the config is plain data)."""

    train_start: str
    train_end: str
    val_days: int = 14  # validation: the two weeks right after the training window
    max_epochs: int = 30  # an upper bound: early stopping ends sooner
    batch_size: int = 1024
    lr: float = 2e-3
    weight_decay: float = 1e-4
    hidden: list[int] = field(default_factory=lambda: [64, 32])
    dropout: float = 0.1
    seed: int = 13
    patience: int = 4  # epochs without a better validation metric before stopping; 0: never
    monitor: str = "score"  # what early stopping watches: recipe.MONITORS
    lr_schedule: str = "cosine"  # or "constant"
    scaling: str = "robust"  # numeric inputs: dataset.SCALINGS
    embedding_cap: int = 16  # widest embedding (tabular_module.embedding_dims)

    @property
    def train_window(self) -> tuple[dt.date, dt.date]:
        """Inclusive training dates."""
        return dt.date.fromisoformat(self.train_start), dt.date.fromisoformat(self.train_end)

    @property
    def val_window(self) -> tuple[dt.date, dt.date]:
        """Inclusive validation dates, after the training window."""
        first = self.train_window[1] + dt.timedelta(days=1)
        return first, first + dt.timedelta(days=self.val_days - 1)

    def params(self) -> dict:
        """Flat parameters for tracking."""
        return {
            k: (",".join(map(str, v)) if isinstance(v, list) else v)
            for k, v in asdict(self).items()
        }


@dataclass
class TrainOutcome:
    """What training produced."""

    net: object  # TabularNet (torch is imported lazily)
    preprocessor: Preprocessor
    metrics: dict[str, float]
    accelerator: str
    precision: str
    train_rows: int


def device_settings() -> tuple[str, str]:
    """Accelerator and precision: bf16-mixed on a CUDA GPU, fp32 on the CPU."""
    import torch

    if torch.cuda.is_available():
        return "gpu", "bf16-mixed"
    return "cpu", "32-true"


def train_model(
    frame: pl.DataFrame,
    config: TrainConfig,
    *,
    columns: ModelColumns,
    task: Task | None = None,
    logger: object = False,
    fast_dev_run: bool = False,
    windows: tuple | None = None,
) -> TrainOutcome:
    """Fit an embedding + MLP net on the training window of ``frame`` (inputs + label).

    Args:
        frame: feature rows with the label (a spec's ``ModelLine.labelled_sql`` rows).
        config: windows and hyper-parameters.
        columns: which columns are the date, the label and the inputs (the spec's ``data``).
        task: what the net predicts (the line's ``task``; default binary): its outputs, loss
            and validation metrics.
        logger: a Lightning logger (MLflow in the pipeline) or False.
        fast_dev_run: one batch of each loop, for tests.
        windows: (training, validation) date windows instead of ``config``'s (a refit's:
            lib/training/refit.py).
    """
    import lightning as L
    from lightning.pytorch.callbacks import EarlyStopping

    from factory_assets.lib.training.recipe import MONITORS, KeepBest, calibrated_metrics
    from factory_assets.lib.training.tabular_datamodule import TabularDataModule
    from factory_assets.lib.training.tabular_module import TabularModule, TabularNet, embedding_dims

    L.seed_everything(config.seed, workers=True, verbose=False)
    train_window, val_window = windows or (config.train_window, config.val_window)
    data = TabularDataModule(
        frame,
        train_window,
        val_window,
        columns=columns,
        seed=config.seed,
        batch_size=config.batch_size,
        task=task,
        scaling=config.scaling,
    )
    data.setup()
    pre, task = data.preprocessor, data.task
    dims = embedding_dims(pre.cardinalities, config.embedding_cap)
    net = TabularNet(
        pre.cardinalities, pre.n_numeric, config.hidden, config.dropout, task.outputs, dims
    )
    module = TabularModule(
        net, task, pre.label_mean, pre.label_std, config.lr, config.weight_decay, config.lr_schedule
    )
    if config.monitor not in MONITORS:
        raise ValueError(f"monitor {config.monitor!r} is unknown; allowed: {', '.join(MONITORS)}")
    monitor, mode = MONITORS[config.monitor]
    best = KeepBest(monitor, mode)
    callbacks = [best]
    if config.patience > 0:
        callbacks.append(EarlyStopping(monitor, mode=mode, patience=config.patience))
    accelerator, precision = device_settings()
    trainer = L.Trainer(
        accelerator=accelerator,
        devices=1,
        precision=precision,
        max_epochs=config.max_epochs,
        logger=logger,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        deterministic=accelerator == "cpu",
        fast_dev_run=fast_dev_run,
        callbacks=callbacks,
        num_sanity_val_steps=0,
    )
    trainer.fit(module, datamodule=data)
    best.restore(net)  # the best epoch's weights, whatever epoch the loop ended on
    fitted, final = calibrated_metrics(net, data.val_set, task, pre.label_mean, pre.label_std)
    pre.calibration = fitted.to_dict()
    final |= {"best_epoch": float(best.epoch + 1), "epochs": float(best.epochs)}
    if logger:
        logger.log_metrics(final, step=trainer.global_step)
    metrics = {k: float(v) for k, v in trainer.callback_metrics.items()} | final
    return TrainOutcome(net.cpu().eval(), pre, metrics, accelerator, precision, len(data.train_set))
