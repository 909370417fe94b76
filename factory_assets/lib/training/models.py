"""Every trained architecture behind one set of functions: predict, save, load, export, parity.

A trained model is a TabularNet (``mlp``, the torch net), a GbdtModel (``gbdt``, LightGBM
trees) or a BlendModel (``blend``: both averaged, lib/training/blend.py); stations ask this
module, never the model's type. Both read the fitted Preprocessor's
(cat, num) and serve the task's predictions (lib/tasks.py shapes) through an ONNX graph of the
same signature (lib/packaging.py ``OUTPUT_NAMES``). torch and lightgbm are imported inside.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import polars as pl

from factory_assets.lib.training.dataset import Preprocessor

MODEL_FILE = "model.json"  # {"architecture": ...}; a run saved before it holds an mlp


def architecture(model: object) -> str:
    """``gbdt`` for a tree model, ``blend`` for a blend, ``mlp`` for a net."""
    return getattr(model, "architecture", "mlp")


def predict_served(model: object, pre: Preprocessor, cat: np.ndarray, num: np.ndarray):  # noqa: ANN201
    """What the model's package serves for (cat, num): [n], or [n, classes] for multiclass."""
    if architecture(model) == "blend":
        from factory_assets.lib.training.blend import predict_served as blended

        return blended(model, cat, num)
    if architecture(model) == "gbdt":
        from factory_assets.lib.training.gbdt import predict_served as trees

        return trees(model, pre, cat, num)
    import torch

    from factory_assets.lib.training.heads import serving_net

    with torch.no_grad():
        return serving_net(model, pre)(torch.from_numpy(cat), torch.from_numpy(num)).numpy()


def predict_frame(model: object, pre: Preprocessor, frame: pl.DataFrame) -> np.ndarray:
    """``predict_served`` of feature rows (through the preprocessor)."""
    return predict_served(model, pre, *pre.transform(frame))


def export(model: object, pre: Preprocessor, path: Path, exports=None) -> Path:  # noqa: ANN001
    """Write the model's ONNX graph to ``path`` (``exports``: the net's graph cache, or None)."""
    if architecture(model) == "blend":
        from factory_assets.lib.training.blend_onnx import export as blended

        return blended(model, path, exports)
    if architecture(model) == "gbdt":
        from factory_assets.lib.training.gbdt_onnx import export as trees

        return trees(model, pre, path)
    from factory_assets.lib.packaging import export_onnx

    write = exports.export if exports else export_onnx
    return write(model, len(pre.categorical), pre.n_numeric, path, preprocessor=pre)


def check_parity(  # noqa: PLR0913
    model: object, pre: Preprocessor, path: Path, cat: np.ndarray, num: np.ndarray, atol: float
) -> float:
    """Max difference between the model's own predictions and its ONNX file's (ParityError)."""
    if architecture(model) == "blend":
        from factory_assets.lib.training.blend_onnx import check_parity as blended

        return blended(model, path, cat, num, atol)
    if architecture(model) == "gbdt":
        from factory_assets.lib.training.gbdt_onnx import check_parity as trees

        return trees(model, pre, path, cat, num, atol)
    from factory_assets.lib.packaging import check_parity as net

    return net(model, path, cat, num, atol, preprocessor=pre)


def save(model: object, pre: Preprocessor, directory: Path, hidden=None, dropout=0.0) -> Path:  # noqa: ANN001
    """Write the model, its preprocessor and ``model.json`` (its architecture) to ``directory``.

    ``hidden`` and ``dropout`` are the net's shape (unused by trees).
    """
    directory.mkdir(parents=True, exist_ok=True)
    name = architecture(model)
    if name == "blend":
        from factory_assets.lib.training import blend

        blend.save(model, pre, directory, hidden, dropout)
    elif name == "gbdt":
        from factory_assets.lib.training import gbdt

        gbdt.save(model, directory)
        (directory / "preprocessor.json").write_text(pre.to_json())
    else:
        from factory_assets.lib.training.artifacts import save_trained

        save_trained(model, pre, list(hidden or []), dropout, directory)
    (directory / MODEL_FILE).write_text(json.dumps({"architecture": name}))
    return directory


def load(directory: Path) -> tuple[object, Preprocessor]:
    """The model and preprocessor ``save`` wrote; a directory without ``model.json``: a net."""
    found = directory / MODEL_FILE
    name = json.loads(found.read_text())["architecture"] if found.exists() else "mlp"
    if name == "blend":
        from factory_assets.lib.training import blend

        return blend.load(directory)
    if name == "gbdt":
        from factory_assets.lib.training import gbdt

        pre = Preprocessor.from_json((directory / "preprocessor.json").read_text())
        return gbdt.load(directory), pre
    from factory_assets.lib.training.artifacts import load_trained

    return load_trained(directory)


def size_bytes(model: object) -> int:
    """Memory the model's weights (or trees, as text) take, for the in-process cache."""
    if architecture(model) == "blend":
        return sum(size_bytes(m) for _, m, _ in model.parts)
    if architecture(model) == "gbdt":
        return len(model.booster.model_to_string())
    return sum(t.numel() * t.element_size() for t in model.state_dict().values())


def copied(model: object) -> object:
    """A copy no caller's change reaches (a net's weights; trees are never changed: as is)."""
    if architecture(model) == "blend":
        return type(model)([(n, copied(m), p) for n, m, p in model.parts])
    return model if architecture(model) == "gbdt" else copy.deepcopy(model)
