"""Scoring with a packaged model: preprocessor JSON + ONNX through onnxruntime, no training code."""

from pathlib import Path

import numpy as np
import polars as pl

from factory_assets.lib.training.dataset import Preprocessor

MODEL_FILE, PREPROCESSOR_FILE, CARD_FILE = "model.onnx", "preprocessor.json", "model_card.md"


class PackagedModel:
    """A model package directory opened for scoring."""

    def __init__(self, directory: Path) -> None:
        from factory_assets.lib.packaging import open_session

        self.preprocessor = Preprocessor.from_json((directory / PREPROCESSOR_FILE).read_text())
        self.session = open_session(directory / MODEL_FILE)

    def predict(self, features: pl.DataFrame) -> np.ndarray:
        """Probability that the label is true, one per row of the model's feature table."""
        from factory_assets.lib.packaging import onnx_predict

        if features.height == 0:
            return np.empty(0, dtype=np.float32)
        cat, num = self.preprocessor.transform(features)
        return onnx_predict(self.session, cat, num)


def load_alias(registry, name: str, alias: str):  # noqa: ANN001, ANN201
    """The model version behind ``alias`` and its package opened for scoring, or None."""
    version = registry.version(name, alias)
    if version is None:
        return None
    return version, PackagedModel(registry.download(version))
