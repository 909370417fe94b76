"""Training a model of a spec: seeded, bf16 on a GPU, fp32 on the CPU."""

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
    max_epochs: int = 6
    batch_size: int = 1024
    lr: float = 2e-3
    weight_decay: float = 1e-4
    hidden: list[int] = field(default_factory=lambda: [64, 32])
    dropout: float = 0.1
    seed: int = 13

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
    """
    import lightning as L

    from factory_assets.lib.training.tabular_datamodule import TabularDataModule
    from factory_assets.lib.training.tabular_module import TabularModule, TabularNet

    L.seed_everything(config.seed, workers=True, verbose=False)
    data = TabularDataModule(
        frame,
        config.train_window,
        config.val_window,
        columns=columns,
        seed=config.seed,
        batch_size=config.batch_size,
        task=task,
    )
    data.setup()
    pre, task = data.preprocessor, data.task
    net = TabularNet(pre.cardinalities, pre.n_numeric, config.hidden, config.dropout, task.outputs)
    module = TabularModule(
        net, task, pre.label_mean, pre.label_std, lr=config.lr, weight_decay=config.weight_decay
    )
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
    )
    trainer.fit(module, datamodule=data)
    metrics = {k: float(v) for k, v in trainer.callback_metrics.items()}
    return TrainOutcome(net.cpu().eval(), pre, metrics, accelerator, precision, len(data.train_set))
