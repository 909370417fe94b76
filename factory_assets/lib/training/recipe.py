"""The training recipe's steps around Lightning's loop: keep the best epoch, then calibrate it.

``KeepBest`` copies the net's weights (in memory, no checkpoint file) whenever the monitored
validation metric improves; Lightning's EarlyStopping ends the loop after ``patience`` epochs
without one. ``calibrated_metrics`` fits the calibration (lib/training/calibration.py) on the
best net's raw validation outputs and reports the task's metrics on the calibrated served
predictions: what the package serves, what a search or ``architecture: auto`` compares.
"""

import lightning as L
import numpy as np
import torch
from torch import nn

from factory_assets.lib.tasks import HIGHER_IS_BETTER, Task
from factory_assets.lib.training import calibration, heads
from factory_assets.lib.training.train import val_metric

MONITORS = {"score": ("val/score", "max"), "loss": ("val/loss", "min")}
CHUNK = 65_536  # validation rows per forward pass when calibrating


class KeepBest(L.Callback):
    """Keeps a copy of ``module.net``'s weights at its best ``monitor`` value so far."""

    def __init__(self, monitor: str, mode: str) -> None:
        self.monitor, self.mode = monitor, mode
        self.best: float | None = None
        self.epoch, self.epochs = -1, 0
        self.state: dict[str, torch.Tensor] | None = None

    def on_validation_end(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        """After each epoch's validation: copy the weights if the metric improved."""
        value = trainer.callback_metrics.get(self.monitor)
        if trainer.sanity_checking or value is None:
            return
        value, self.epochs = float(value), trainer.current_epoch + 1
        improved = self.best is None or (
            value > self.best if self.mode == "max" else value < self.best
        )
        if improved and np.isfinite(value):
            self.best, self.epoch = value, trainer.current_epoch
            self.state = {k: v.detach().clone() for k, v in module.net.state_dict().items()}

    def restore(self, net: nn.Module) -> None:
        """Load the best weights kept into ``net`` (nothing kept: ``net`` as trained)."""
        if self.state is not None:
            net.load_state_dict(self.state)


def raw_outputs(net: nn.Module, cat: torch.Tensor, num: torch.Tensor) -> np.ndarray:
    """The net's raw outputs in float32 on the CPU (no autocast), in chunks."""
    net = net.cpu().float().eval()
    with torch.no_grad(), torch.autocast("cpu", enabled=False):
        parts = [
            net(cat[i : i + CHUNK], num[i : i + CHUNK].float()).float()
            for i in range(0, len(cat), CHUNK)
        ]
    return torch.cat(parts).numpy()


def calibrated_metrics(
    net: nn.Module, val_set, task: Task, label_mean: float, label_std: float
) -> tuple[calibration.Calibration, dict[str, float]]:  # noqa: ANN001 (a _Tensors)
    """The calibration fitted on ``val_set`` and the validation metrics, before and after it.

    Returns:
        The calibration and ``val/loss`` (on the raw outputs), the task's ``val/<metric>`` and
        ``val/score`` on the calibrated served predictions, ``val_raw/<metric>`` before
        calibration, and ``calibration/scale`` and ``calibration/shift``.
    """
    outputs, y = raw_outputs(net, val_set.cat, val_set.num), val_set.y
    fitted = calibration.fit(task, outputs, y.numpy())
    raw, logits = torch.from_numpy(outputs), torch.from_numpy(fitted.apply(outputs)).float()
    loss = heads.loss(task, raw, heads.targets(task, y, label_mean, label_std))
    metrics = {"val/loss": float(loss)}
    for name, values in (("val_raw", raw), ("val", logits)):
        served = heads.activate(task, values, label_mean, label_std).numpy()
        found = task.metrics(y.numpy(), served)
        for m in task.metric_names:
            metrics[val_metric(m).replace("val", name, 1)] = float(found[m])
    primary = metrics[val_metric(task.primary)]
    metrics["val/score"] = primary if HIGHER_IS_BETTER[task.primary] else -primary
    metrics |= {f"calibration/{k}": v for k, v in fitted.to_dict().items()}
    return fitted, metrics
