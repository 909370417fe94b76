"""What the service serves right now, and the poller that swaps it when the registry moves.

Each model's champion (and challenger) is one immutable ``Served`` object behind a reference. The
poller loads a new version completely (download, onnxruntime session, one warm-up call, the
preprocessor compiled to arrays; for a snapshot, every lookup table) and only
then rebinds the reference, one atomic assignment; a request holds the object it took at its
start, so in-flight requests finish on the old version and none is dropped.
"""

import datetime as dt
import logging
import shutil
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from factory_assets.lib.online.features import OnlineFeatures
from factory_assets.lib.online.scorer import OnlineScorer
from factory_assets.lib.online.snapshot import current_snapshot
from factory_assets.lib.scoring import MODEL_FILE, PackagedModel
from factory_assets.settings import Settings

log = logging.getLogger("factory.serving")
CHAMPION, CHALLENGER = "champion", "challenger"  # as lib/registry.py (which imports mlflow)


@dataclass(frozen=True)
class Served:
    """One loaded model version."""

    name: str
    version: str
    model: PackagedModel
    loaded_at: str
    scorer: OnlineScorer  # the model compiled for FeatureBlocks (built before the swap)


class ServingState:
    """Champions, challengers and the online features, refreshed by ``refresh``."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.champions: dict[str, Served] = {}
        self.challengers: dict[str, Served | None] = {}
        self.features: OnlineFeatures | None = None
        self._registry = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def registry(self):  # noqa: ANN201 (lib.registry.Registry; mlflow loads lazily)
        """The registry client, created on first use."""
        if self._registry is None:
            from factory_assets.lib.registry import Registry

            self._registry = Registry(self.settings.mlflow_tracking_uri)
        return self._registry

    def refresh(self) -> None:
        """Load whatever moved: a champion, a challenger, or the snapshot."""
        for name in self.settings.serve_models:
            try:
                self._refresh_model(name)
            except Exception:  # a broken version or a registry hiccup: keep serving the old
                log.exception("could not refresh model %s; still serving what was loaded", name)
        try:
            snapshot = current_snapshot(self.settings.online_dir / "snapshots")
            if snapshot is not None and (
                self.features is None or self.features.directory != snapshot
            ):
                self.features = OnlineFeatures(snapshot)
                log.info(
                    "online snapshot %s (as of %s)", snapshot.name, self.features.manifest.as_of
                )
        except Exception:
            log.exception("could not load the online snapshot; still serving the old one")

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
