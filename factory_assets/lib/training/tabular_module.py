"""The net of every model: embeddings for categorical features + an MLP, as a LightningModule."""

import math

import lightning as L
import numpy as np
import torch
from torch import Tensor, nn

from factory_assets.lib.tasks import HIGHER_IS_BETTER, Task
from factory_assets.lib.training import heads
from factory_assets.lib.training.train import val_metric


def embedding_dims(cardinalities: list[int], cap: int = 16) -> list[int]:
    """Embedding width per categorical: ``round(1.6 * size ** 0.56)``, at most ``cap``.

    The rule grows with the vocabulary but ever slower (fast.ai's, fitted over many tabular
    sets): 2 values get 2 dimensions, 16 get 8, 100 get 21.
    """
    return [max(1, min(cap, round(1.6 * size**0.56))) for size in cardinalities]


def legacy_dims(cardinalities: list[int]) -> list[int]:
    """The widths of nets saved before ``embedding_dims`` (their net.json names none)."""
    return [min(16, (size + 1) // 2) for size in cardinalities]


class TabularNet(nn.Module):
    """Raw outputs of a task (lib/training/heads.py) from (categorical indices, numerics).

    ``outputs`` 1 (binary logit, standardized regression value) gives [batch]; more (one logit
    per class) gives [batch, outputs]. ``dims``: each embedding's width (default: the rule of
    nets saved before it was recorded, ``legacy_dims``).
    """

    def __init__(  # noqa: PLR0913
        self,
        cardinalities: list[int],
        n_numeric: int,
        hidden: list[int],
        dropout: float = 0.1,
        outputs: int = 1,
        dims: list[int] | None = None,
    ) -> None:
        super().__init__()
        dims = legacy_dims(cardinalities) if dims is None else dims
        self.embeddings = nn.ModuleList(
            nn.Embedding(size, dim) for size, dim in zip(cardinalities, dims, strict=True)
        )
        width = sum(e.embedding_dim for e in self.embeddings) + n_numeric
        layers: list[nn.Module] = []
        for size in hidden:
            layers += [nn.Linear(width, size), nn.ReLU(), nn.Dropout(dropout)]
            width = size
        self.outputs = outputs
        self.mlp = nn.Sequential(*layers, nn.Linear(width, outputs))

    def forward(self, cat: Tensor, num: Tensor) -> Tensor:
        """Raw outputs, shape [batch] (one output) or [batch, outputs]."""
        embedded = [emb(cat[:, i]) for i, emb in enumerate(self.embeddings)]
        out = self.mlp(torch.cat([*embedded, num], dim=1))
        return out.squeeze(-1) if self.outputs == 1 else out


class TabularModule(L.LightningModule):
    """Trains a TabularNet with its task's loss (lib/training/heads.py), by AdamW.

    ``schedule`` "cosine": the learning rate rises linearly over the first epoch (at most half
    the steps), then falls along a cosine to ``lr * FLOOR`` at ``max_epochs``; "constant": none.

    Logs train/loss and val/loss (the loss on the net's targets), the task's metrics on the
    served predictions (val/auroc, val/brier, val/log_loss; val/rmse, val/mae, val/r2;
    val/log_loss, val/accuracy, val/macro_f1) and val/score: the primary metric (AUC, RMSE, log
    loss) as higher-is-better, what a search maximises.
    """

    def __init__(
        self,
        net: nn.Module,
        task: Task | None = None,
        label_mean: float = 0.0,
        label_std: float = 1.0,
        lr: float = 2e-3,
        weight_decay: float = 1e-4,
        schedule: str = "cosine",
    ) -> None:
        super().__init__()
        self.save_hyperparameters(ignore=["net", "task"])  # net is injected: testable alone
        self.net, self.task = net, task or Task()
        self.label_mean, self.label_std = float(label_mean), float(label_std)
        self._seen: list[tuple[np.ndarray, np.ndarray]] = []

    def forward(self, cat: Tensor, num: Tensor) -> Tensor:
        """Raw outputs of the wrapped net."""
        return self.net(cat, num)

    def _loss(self, batch: dict[str, Tensor]) -> tuple[Tensor, Tensor]:
        outputs = self(batch["cat"], batch["num"])
        target = heads.targets(self.task, batch["y"], self.label_mean, self.label_std)
        return heads.loss(self.task, outputs, target), outputs

    def training_step(self, batch: dict[str, Tensor], batch_idx: int) -> Tensor:
        """One optimisation step on a batch."""
        loss, _ = self._loss(batch)
        self.log("train/loss", loss, on_step=False, on_epoch=True)
        lr = self.trainer.optimizers[0].param_groups[0]["lr"]
        self.log("train/lr", lr, on_step=False, on_epoch=True)
        return loss

    def validation_step(self, batch: dict[str, Tensor], batch_idx: int) -> None:
        """Validation loss; the batch's served predictions are kept for the epoch's metric."""
        loss, outputs = self._loss(batch)
        self.log("val/loss", loss)
        served = heads.activate(self.task, outputs.detach(), self.label_mean, self.label_std)
        self._seen.append((batch["y"].cpu().numpy(), served.cpu().numpy()))

    def on_validation_epoch_end(self) -> None:
        """The task's metrics over the epoch's validation rows, and val/score (its primary)."""
        if not self._seen:
            return
        y = np.concatenate([y for y, _ in self._seen])
        pred = np.concatenate([p for _, p in self._seen])
        self._seen.clear()
        metrics = self.task.metrics(y, pred)
        for metric in self.task.metric_names:
            self.log(val_metric(metric), float(metrics[metric]))
        primary = metrics[self.task.primary]
        self.log("val/score", float(primary if HIGHER_IS_BETTER[self.task.primary] else -primary))

    def configure_optimizers(self) -> dict:
        """AdamW, and its learning-rate schedule stepped every batch."""
        optimizer = torch.optim.AdamW(
            self.parameters(), lr=self.hparams.lr, weight_decay=self.hparams.weight_decay
        )
        if self.hparams.schedule == "constant":
            return {"optimizer": optimizer}
        total = max(1, int(self.trainer.estimated_stepping_batches))
        warmup = min(total // 2, math.ceil(total / max(1, self.trainer.max_epochs)))
        schedule = torch.optim.lr_scheduler.LambdaLR(
            optimizer, lambda step: lr_factor(step, warmup, total)
        )
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": schedule, "interval": "step"}}


FLOOR = 0.02  # the cosine schedule's last learning rate, as a share of lr


def lr_factor(step: int, warmup: int, total: int) -> float:
    """The share of ``lr`` at ``step``: linear warm-up over ``warmup`` steps, then a cosine."""
    if step < warmup:
        return (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return FLOOR + (1.0 - FLOOR) * 0.5 * (1.0 + math.cos(math.pi * progress))
