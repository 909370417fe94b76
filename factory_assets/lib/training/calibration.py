"""Calibration on the validation window, so that every version of a model scores on one scale.

A model's raw outputs (a binary logit, one logit per class) are mapped to probabilities by a
fitted affine change of the logits: Platt scaling for binary (``sigmoid(scale * z + shift)``),
temperature scaling for multiclass (``softmax(scale * z)``, shift 0). Regression is served in
the label's units and is not recalibrated (scale 1, shift 0). The fit minimises the log loss on
the validation rows, which come after the training window: a version trained on a period whose
late-rate differs from the next one's is moved back onto the observed rate.

Plain numpy: the torch head (lib/training/heads.py) and the tree models' ONNX graph apply the
same two numbers.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from factory_assets.lib.tasks import Task

MAX_STEPS = 100
TOLERANCE = 1e-10
SCALE_BOUNDS = (1e-3, 1e3)


@dataclass(frozen=True)
class Calibration:
    """The affine map of raw logits a task's head applies before its sigmoid or softmax."""

    scale: float = 1.0
    shift: float = 0.0

    @property
    def identity(self) -> bool:
        """Whether the map changes nothing (regression, or a model fitted before calibration)."""
        return self.scale == 1.0 and self.shift == 0.0

    def apply(self, logits: np.ndarray) -> np.ndarray:
        """``scale * logits + shift``, in float64."""
        return self.scale * np.asarray(logits, dtype=np.float64) + self.shift

    def to_dict(self) -> dict[str, float]:
        """Plain data, for JSON (the preprocessor, MLflow params)."""
        return asdict(self)


def fit(task: Task, logits: np.ndarray, labels: np.ndarray) -> Calibration:
    """The calibration of ``task`` fitted on validation ``logits`` and their ``labels``.

    Args:
        task: binary (Platt), multiclass (temperature) or regression (identity).
        logits: raw outputs, [n] for binary, [n, classes] for multiclass.
        labels: 0/1 for binary, class ids for multiclass.

    Returns:
        The identity where there is nothing to fit: regression, no rows, one class only.
    """
    labels = np.asarray(labels)
    if task.kind == "regression" or labels.size == 0 or np.unique(labels).size < 2:
        return Calibration()
    if task.kind == "multiclass":
        return Calibration(scale=_temperature(np.asarray(logits, np.float64), labels.astype(int)))
    return _platt(np.asarray(logits, np.float64).reshape(-1), labels.astype(np.float64))


def _platt(z: np.ndarray, y: np.ndarray) -> Calibration:
    """Newton steps on the log loss of ``sigmoid(a z + b)``, from the identity."""
    a, b = 1.0, 0.0
    for _ in range(MAX_STEPS):
        p = 1.0 / (1.0 + np.exp(-(a * z + b)))
        w = np.maximum(p * (1.0 - p), 1e-12)
        g = np.array([np.dot(p - y, z), np.sum(p - y)])
        h = np.array([[np.dot(w, z * z), np.dot(w, z)], [np.dot(w, z), np.sum(w)]])
        h += np.eye(2) * 1e-9 * z.size  # separable data: a tiny ridge keeps the step finite
        step = np.linalg.solve(h, g)
        a, b = a - step[0], b - step[1]
        if float(np.abs(step).max()) < TOLERANCE:
            break
    a = float(np.clip(a, *SCALE_BOUNDS))  # never flips the ranking, never degenerates to 0
    return Calibration(scale=a, shift=float(b))


def _log_loss_multiclass(z: np.ndarray, y: np.ndarray, scale: float) -> float:
    s = scale * z
    s = s - s.max(axis=1, keepdims=True)
    log_norm = np.log(np.exp(s).sum(axis=1))
    return float(np.mean(log_norm - s[np.arange(y.size), y]))


def _temperature(z: np.ndarray, y: np.ndarray) -> float:
    """The scale minimising the multiclass log loss: golden-section search on log(scale)."""
    lo, hi = np.log(SCALE_BOUNDS[0]), np.log(SCALE_BOUNDS[1])
    ratio = (np.sqrt(5.0) - 1.0) / 2.0
    for _ in range(MAX_STEPS):
        left, right = hi - ratio * (hi - lo), lo + ratio * (hi - lo)
        if _log_loss_multiclass(z, y, np.exp(left)) < _log_loss_multiclass(z, y, np.exp(right)):
            hi = right
        else:
            lo = left
        if hi - lo < 1e-6:
            break
    return float(np.exp((lo + hi) / 2.0))
