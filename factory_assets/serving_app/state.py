"""What the service serves right now, and the poller that swaps it when the registry moves.

Per served model: its online snapshot (``LookupOnline``, or its registered feature function's
class) and the champion (and challenger) of each registered model behind it (its segments'
and its fallback for a segmented spec). Each is one immutable object behind a reference. The
poller loads a new version completely (download, onnxruntime session, one warm-up call; for a
snapshot, its tables) and only then rebinds the reference, one atomic assignment; a request
holds the objects it took at its start, so in-flight requests finish on the old version.
"""

import datetime as dt
import logging
import shutil
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
import yaml

from factory_assets.lib.online.blocks import FeatureBlock
from factory_assets.lib.online.contract import CONTRACT, Contract, model_root
from factory_assets.lib.online.functions import feature_function
from factory_assets.lib.online.lookup_online import LookupOnline
from factory_assets.lib.online.scorer import OnlineScorer
from factory_assets.lib.online.snapshot import current_snapshot
from factory_assets.lib.scoring import MODEL_FILE, PackagedModel
from factory_assets.settings import Settings

log = logging.getLogger("factory.serving")
CHAMPION, CHALLENGER = "champion", "challenger"  # as lib/registry.py (which imports mlflow)
SPECS = Path(__file__).resolve().parents[1] / "defs" / "models"


def spec_names(root: Path = SPECS) -> list[str]:
    """The names of the model specs under ``root`` (read as YAML, without loading Dagster)."""
    names = []
    for path in sorted(root.glob("*/defs.yaml")):
        with open(path) as f:
            name = ((yaml.safe_load(f) or {}).get("attributes") or {}).get("name")
        if name:
            names.append(name)
    return names


@dataclass(frozen=True)
class Served:
    """One loaded model version."""

    name: str
    version: str
    model: PackagedModel
    loaded_at: str
    scorer: OnlineScorer  # the model compiled for FeatureBlocks (built before the swap)

    def predict(self, features: FeatureBlock | pl.DataFrame) -> np.ndarray:
        """Predictions of a FeatureBlock (fast path) or of feature-table rows (as the batch)."""
        if isinstance(features, FeatureBlock):
            return self.scorer.predict(features)
        from factory_assets.lib.packaging import onnx_predict

        return onnx_predict(self.scorer.session, *self.model.preprocessor.transform(features))

    def vocab(self, column: str) -> list:
        """The categories of ``column`` the model was trained on."""
        return self.model.preprocessor.vocab.get(column, [])


class ServingState:
    """Snapshots, champions and challengers, refreshed by ``refresh``."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.online: dict[str, object] = {}  # model -> LookupOnline or a feature function's
        self.champions: dict[str, Served] = {}  # registered model -> champion
        self.challengers: dict[str, Served | None] = {}
        self._registry = None
        self._models: list[str] | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def models(self) -> list[str]:
        """The served models: the setting's, or every spec's and every snapshot's.

        Found again at each ``refresh``; a request reads the list, never the disk.
        """
        if self._models is None:
            self._models = self._find_models()
        return self._models

    def _find_models(self) -> list[str]:
        if self.settings.serve_models:
            return list(self.settings.serve_models)
        found = {p.name for p in (self.settings.online_dir / "models").glob("*") if p.is_dir()}
        return sorted(set(spec_names()) | found)

    def registered(self, name: str) -> list[str]:
        """The registered models behind ``name`` (known once its snapshot is loaded)."""
        online = self.online.get(name)
        return [name] if online is None else online.contract.registered

    def registry(self):  # noqa: ANN201 (lib.registry.Registry; mlflow loads lazily)
        """The registry client, created on first use."""
        if self._registry is None:
            from factory_assets.lib.registry import Registry

            self._registry = Registry(self.settings.mlflow_tracking_uri)
        return self._registry

    def refresh(self) -> None:
        """Load whatever moved: a snapshot, a champion, a challenger."""
        self._models = self._find_models()
        for name in self._models:
            try:
                self._refresh_snapshot(name)
            except Exception:
                log.exception("could not load %s's online snapshot; still serving the old", name)
            for registered in self.registered(name):
                try:
                    self._refresh_model(registered)
                except Exception:  # a broken version or a registry hiccup: keep the old
                    log.exception("could not refresh %s; still serving what was loaded", registered)

    def _refresh_snapshot(self, name: str) -> None:
        directory = current_snapshot(model_root(self.settings.online_dir, name))
        current = self.online.get(name)
        if directory is None or (current is not None and current.directory == directory):
            return
        function = Contract.read(directory).function if (directory / CONTRACT).exists() else None
        kind = feature_function(function) if function else LookupOnline
        self.online[name] = kind(directory)  # the swap: one assignment
        log.info("model %s: online snapshot %s", name, directory.name)

    def _refresh_model(self, name: str) -> None:
        registry = self.registry()
        champion = registry.version(name, CHAMPION)
        current = self.champions.get(name)
        if champion is not None and (current is None or current.version != str(champion.version)):
            self.champions[name] = self._load(registry, champion)  # the swap: one assignment
            log.info("model %s: serving version %s", name, champion.version)
        if not self.settings.serve_shadow:
            return
        challenger = registry.version(name, CHALLENGER)
        shadow = self.challengers.get(name)
        if challenger is None or str(challenger.version) == str(champion and champion.version):
            self.challengers[name] = None
        elif shadow is None or shadow.version != str(challenger.version):
            self.challengers[name] = self._load(registry, challenger)
            log.info("model %s: shadow-scoring challenger %s", name, challenger.version)

    @staticmethod
    def _load(registry, version) -> Served:  # noqa: ANN001
        from factory_assets.lib.packaging import onnx_predict

        directory = Path(registry.download(version))
        try:
            model = PackagedModel(directory)
            scorer = OnlineScorer(model, (directory / MODEL_FILE).read_bytes())
        finally:  # all is in memory now; remove only the temporary copy download made
            if (
                directory.parent.name.startswith("package-")
                and Path(tempfile.gettempdir()) in directory.parents
            ):
                shutil.rmtree(directory.parent, ignore_errors=True)
        pre = model.preprocessor
        cat = np.zeros((1, len(pre.categorical)), dtype=np.int64)
        onnx_predict(scorer.session, cat, np.zeros((1, pre.n_numeric), dtype=np.float32))
        loaded_at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        return Served(version.name, str(version.version), model, loaded_at, scorer)

    def start(self) -> None:
        """Refresh now, then every ``poll_seconds`` on a daemon thread."""
        self.refresh()
        self._thread = threading.Thread(target=self._poll, name="registry-poller", daemon=True)
        self._thread.start()

    def _poll(self) -> None:
        while not self._stop.wait(self.settings.serve_poll_seconds):
            self.refresh()

    def stop(self) -> None:
        """Stop the poller."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
