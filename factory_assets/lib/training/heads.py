"""The torch side of a Task (lib/tasks.py): the loss on the net's outputs and the served head.

The net (TabularNet) ends in ``task.outputs`` raw outputs: one logit (binary), one standardized
value (regression) or one logit per class (multiclass). ``loss`` trains on them; ``ServingNet``
turns them into what is served (a probability, a value in the label's units, class
probabilities) and is what the ONNX graph exports, so torch and ONNX serve the same numbers.
A classifier's head first applies its calibration (lib/training/calibration.py) to the logits.
"""

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from factory_assets.lib.tasks import Task


def targets(task: Task, y: Tensor, label_mean: float = 0.0, label_std: float = 1.0) -> Tensor:
    """The tensor the loss compares with: float 0/1, a standardized value, or a class id."""
    if task.kind == "multiclass":
        return y.long()
    if task.kind == "regression":
        return (y.float() - label_mean) / label_std
    return y.float()


def loss(task: Task, outputs: Tensor, target: Tensor) -> Tensor:
    """BCE with logits, MSE on the standardized value, or cross-entropy over the classes."""
    if task.kind == "multiclass":
        return F.cross_entropy(outputs.float(), target)
    if task.kind == "regression":
        return F.mse_loss(outputs.float(), target)
    return F.binary_cross_entropy_with_logits(outputs.float(), target)


def activate(
    task: Task, outputs: Tensor, label_mean: float = 0.0, label_std: float = 1.0
) -> Tensor:
    """What is served from raw outputs: sigmoid, label units, or softmax over the classes."""
    if task.kind == "multiclass":
        return torch.softmax(outputs.float(), dim=-1)
    if task.kind == "regression":
        return outputs.float() * label_std + label_mean
    return torch.sigmoid(outputs.float())


class ServingNet(nn.Module):
    """A trained net followed by its task's head: the exported graph and ``torch_predict``.

    A regression head's label mean and std, and a classifier's calibration (``scale * logits +
    shift`` before the sigmoid or softmax), are buffers, so the exported graph holds them as
    initializers (lib/training/export_cache.py writes each net's own into a shared graph).
    """

    def __init__(  # noqa: PLR0913
        self,
        inner: nn.Module,
        task: Task,
        label_mean: float,
        label_std: float,
        scale: float = 1.0,
        shift: float = 0.0,
    ) -> None:
        super().__init__()
        self.inner, self.task = inner, task
        if task.kind == "regression":
            self.register_buffer("label_mean", torch.tensor(float(label_mean)))
            self.register_buffer("label_std", torch.tensor(float(label_std)))
        else:  # unused by the head: plain numbers, nothing in the graph
            self.label_mean, self.label_std = float(label_mean), float(label_std)
        # only a part of the calibration that changes something is a buffer: the exporter folds
        # a product by 1 or a sum of 0 away, and then the graph could not be reused as a
        # template (its weights would not all be initializers); a shift moves no softmax
        self.scaled = task.kind != "regression" and float(scale) != 1.0
        self.shifted = task.kind == "binary" and float(shift) != 0.0
        if self.scaled:
            self.register_buffer("calibration_scale", torch.tensor(float(scale)))
        if self.shifted:
            self.register_buffer("calibration_shift", torch.tensor(float(shift)))

    def extra_repr(self) -> str:
        """The task (its head differs by kind, not by weight shapes)."""
        return f"task={self.task.kind}, classes={len(self.task.classes)}, " + (
            f"calibrated={self.scaled}/{self.shifted}"
        )

    def forward(self, cat: Tensor, num: Tensor) -> Tensor:
        """Served predictions: [batch], or [batch, classes] for multiclass."""
        outputs = self.inner(cat, num)
        if self.scaled:  # float32 even under autocast: as fitted
            outputs = outputs.float() * self.calibration_scale
        if self.shifted:
            outputs = outputs.float() + self.calibration_shift
        return activate(self.task, outputs, self.label_mean, self.label_std)


def serving_net(net: nn.Module, preprocessor) -> ServingNet:  # noqa: ANN001 (a Preprocessor)
    """``net`` with the head of the task its ``preprocessor`` recorded, in eval mode.

    A classifier's head applies the calibration the preprocessor holds (identity if none).
    """
    calibration = preprocessor.calibration or {}
    head = ServingNet(
        net,
        preprocessor.model_task,
        preprocessor.label_mean,
        preprocessor.label_std,
        calibration.get("scale", 1.0),
        calibration.get("shift", 0.0),
    )
    return head.eval()
