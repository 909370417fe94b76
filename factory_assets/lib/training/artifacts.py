"""Trained nets on disk: weights, their shape, and the fitted preprocessor, side by side."""

import json
from pathlib import Path

from factory_assets.lib.training.dataset import Preprocessor

NET_FILE, CONFIG_FILE, PREPROCESSOR_FILE = "net.pt", "net.json", "preprocessor.json"


def save_trained(net, preprocessor: Preprocessor, hidden: list[int], dropout: float,
                 directory: Path) -> Path:  # fmt: skip  # noqa: ANN001
    """Write ``net.pt`` (state dict), ``net.json`` (shape) and ``preprocessor.json``."""
    import torch

    directory.mkdir(parents=True, exist_ok=True)
    torch.save(net.state_dict(), directory / NET_FILE)
    shape = {
        "cardinalities": preprocessor.cardinalities,
        "n_numeric": preprocessor.n_numeric,
        "hidden": hidden,
        "dropout": dropout,
        "outputs": preprocessor.model_task.outputs,
        "embedding_dims": [e.embedding_dim for e in net.embeddings],
    }
    (directory / CONFIG_FILE).write_text(json.dumps(shape))
    (directory / PREPROCESSOR_FILE).write_text(preprocessor.to_json())
    return directory


def load_trained(directory: Path) -> tuple[object, Preprocessor]:
    """The TabularNet (eval mode, CPU) and Preprocessor written by ``save_trained``."""
    import torch

    from factory_assets.lib.training.tabular_module import TabularNet

    shape = json.loads((directory / CONFIG_FILE).read_text())
    net = TabularNet(
        shape["cardinalities"],
        shape["n_numeric"],
        shape["hidden"],
        shape["dropout"],
        shape.get("outputs", 1),  # nets saved before tasks: one output
        shape.get("embedding_dims"),  # nets saved before it: the rule they were built by
    )
    net.load_state_dict(torch.load(directory / NET_FILE, map_location="cpu", weights_only=True))
    pre = Preprocessor.from_json((directory / PREPROCESSOR_FILE).read_text())
    return net.eval(), pre
