"""The torch side of a Task (lib/tasks.py): the loss on the net's outputs and the served head.

The net (TabularNet) ends in ``task.outputs`` raw outputs: one logit (binary), one standardized
value (regression) or one logit per class (multiclass). ``loss`` trains on them; ``ServingNet``
turns them into what is served (a probability, a value in the label's units, class
probabilities) and is what the ONNX graph exports, so torch and ONNX serve the same numbers.
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

    A regression head's label mean and std are buffers, so the exported graph holds them as
    initializers (lib/training/export_cache.py writes each net's own into a shared graph).
    """

    def __init__(self, inner: nn.Module, task: Task, label_mean: float, label_std: float) -> None:
        super().__init__()
        self.inner, self.task = inner, task
        if task.kind == "regression":
            self.register_buffer("label_mean", torch.tensor(float(label_mean)))
            self.register_buffer("label_std", torch.tensor(float(label_std)))
        else:  # unused by the head: plain numbers, nothing in the graph
            self.label_mean, self.label_std = float(label_mean), float(label_std)

    def extra_repr(self) -> str:
        """The task (its head differs by kind, not by weight shapes)."""
        return f"task={self.task.kind}, classes={len(self.task.classes)}"

    def forward(self, cat: Tensor, num: Tensor) -> Tensor:
        """Served predictions: [batch], or [batch, classes] for multiclass."""
        return activate(self.task, self.inner(cat, num), self.label_mean, self.label_std)


def serving_net(net: nn.Module, preprocessor) -> ServingNet:  # noqa: ANN001 (a Preprocessor)
    """``net`` with the head of the task its ``preprocessor`` recorded, in eval mode."""
    head = ServingNet(net, preprocessor.model_task, preprocessor.label_mean, preprocessor.label_std)
    return head.eval()
