"""The MLflow model registry as the factory uses it: packages, the gate, aliases, rollback.

A package is a directory logged to a training run (model.onnx, preprocessor.json,
model_card.md) and registered as a model version. Alias ``champion`` moves only through
``promote`` (after the gate) or ``rollback``; every move is recorded in tags.
"""

import datetime as dt
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

CHAMPION, CHALLENGER = "champion", "challenger"


@dataclass(frozen=True)
class GateConfig:
    """Bounds on holdout metrics, the metric a challenger must beat the champion on, by margin.

    ``floors`` maps a metric to a floor where higher is better (auc, r2, ...) and a ceiling
    where lower is (brier, rmse, log_loss, ...): lib/tasks.py ``HIGHER_IS_BETTER``.
    """

    metric: str = "auc"
    floors: dict[str, float] = field(default_factory=lambda: {"auc": 0.6, "brier": 0.25})
    margin: float = 0.002


@dataclass(frozen=True)
class GateDecision:
    """The gate's verdict and why."""

    promote: bool
    reason: str


def decide(challenger: dict, champion: dict | None, gate: GateConfig) -> GateDecision:
    """Promote only within the bounds and, when a champion exists, by ``margin`` on its metric.

    Args:
        challenger: holdout metrics of the new model (every metric the gate names).
        champion: the current champion's metrics on the same holdout rows, or None.
        gate: bounds, metric and margin.
    """
    from factory_assets.lib.tasks import HIGHER_IS_BETTER, metric_label

    for metric, bound in gate.floors.items():
        value, higher = challenger[metric], HIGHER_IS_BETTER[metric]
        if not (value >= bound if higher else value <= bound):  # also false for NaN
            side = "below the floor" if higher else "above the ceiling"
            return GateDecision(False, f"holdout {metric_label(metric)} {value:.4f} {side} {bound}")
    metric, higher = gate.metric, HIGHER_IS_BETTER[gate.metric]
    value, name = challenger[metric], metric_label(gate.metric)
    if champion is None:
        passed = " and ".join(f"{metric_label(m)} {challenger[m]:.4f}" for m in gate.floors)
        return GateDecision(True, f"first model: {passed or f'{name} {value:.4f}'} pass bounds")
    needed = champion[metric] + gate.margin if higher else champion[metric] - gate.margin
    if value >= needed if higher else value <= needed:
        return GateDecision(
            True,
            f"{name} {value:.4f} beats the champion's {champion[metric]:.4f} by at least "
            f"{gate.margin}",
        )
    return GateDecision(
        False,
        f"{name} {value:.4f} does not beat the champion's {champion[metric]:.4f} "
        f"by {gate.margin} (needs {needed:.4f})",
    )


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


class Registry:
    """A thin, typed layer over MlflowClient for one tracking store."""

    def __init__(self, tracking_uri: str) -> None:
        from mlflow import MlflowClient

        self.client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)

    def experiment(self, name: str, artifact_location: str) -> str:
        """The experiment's id, created with its artifact location on first use."""
        found = self.client.get_experiment_by_name(name)
        if found is not None:
            return found.experiment_id
        return self.client.create_experiment(name, artifact_location=artifact_location)

    def version(self, name: str, alias: str):  # noqa: ANN201 (mlflow ModelVersion)
        """The model version behind an alias, or None."""
        from mlflow.exceptions import MlflowException

        try:
            return self.client.get_model_version_by_alias(name, alias)
        except MlflowException:
            return None

    def register(self, name: str, run_id: str, package_dir: Path, tags: dict[str, str]):  # noqa: ANN201
        """Log ``package_dir`` to the run under ``package/`` and register it as a new version.

        The version is created only after every file is logged, with its tags in the same
        transaction, so no version points at half a package. One training run gives one
        version: if an earlier attempt was killed after registering (before its alias moved),
        that version is reused and its tags refreshed, not registered twice. A registered
        model this call creates has no versions, so there is nothing to look for.
        """
        self.client.log_artifacts(run_id, str(package_dir), "package")
        created = self._create_model(name)
        source = f"{self.client.get_run(run_id).info.artifact_uri}/package"
        found = [] if created else self.client.search_model_versions(
            f"name='{name}' and run_id='{run_id}'"
        )  # fmt: skip
        for version in found:
            if version.source == source:
                self._tag(name, version.version, tags, version.tags)
                return self.client.get_model_version(name, version.version)
        return self.client.create_model_version(name, source, run_id=run_id, tags=tags)

    def _create_model(self, name: str) -> bool:
        """Create the registered model ``name``; False when it exists already."""
        from mlflow.exceptions import MlflowException

        try:
            self.client.create_registered_model(name)
        except MlflowException:
            return False
        return True

    def _tag(self, name: str, version: str, tags: dict[str, str], has: dict | None) -> None:
        """Set ``tags`` on a version, but those it ``has`` already with the same value.

        Each tag is a write (on SQLite a transaction of 10-30 ms).
        """
        for key, value in tags.items():
            if (has or {}).get(key) != str(value):
                self.client.set_model_version_tag(name, version, key, value)

    def promote(self, name: str, version: str, reason: str, has: dict | None = None) -> str | None:
        """Point ``champion`` at ``version``; returns the previous champion's version.

        ``has``: the tags the version carries already (``register``'s, which may include
        ``gate_reason`` and ``previous_champion``); those are not written again.
        """
        previous = self.version(name, CHAMPION)
        tags = {"promoted_at": _now(), "gate_reason": reason}
        if previous is not None:
            self.client.set_model_version_tag(name, previous.version, "replaced_by", version)
            tags["previous_champion"] = previous.version
        elif "previous_champion" in (has or {}):  # registered as replacing one that is gone
            self.client.delete_model_version_tag(name, version, "previous_champion")
        self._tag(name, version, tags, has)
        self.client.set_registered_model_alias(name, CHAMPION, version)
        return None if previous is None else previous.version

    def keep_as_challenger(
        self, name: str, version: str, reason: str, has: dict | None = None
    ) -> None:
        """Register a version that lost the gate as ``challenger``, with the reason.

        ``has``: the tags the version carries already, as for ``promote``.
        """
        self._tag(name, version, {"gate_reason": reason}, has)
        self.client.set_registered_model_alias(name, CHALLENGER, version)

    def rollback(self, name: str, who: str, why: str) -> tuple[str, str]:
        """Move ``champion`` back to the version it replaced; records who and why.

        Raises:
            LookupError: no champion, or the champion has no previous version.
        """
        current = self.version(name, CHAMPION)
        if current is None or "previous_champion" not in current.tags:
            raise LookupError(f"model {name!r} has no earlier champion to roll back to")
        target = current.tags["previous_champion"]
        for key, value in {
            "rolled_back_by": who,
            "rolled_back_reason": why,
            "rolled_back_at": _now(),
        }.items():
            self.client.set_model_version_tag(name, current.version, key, value)
        self.client.set_model_version_tag(name, target, "restored_from", current.version)
        self.client.set_registered_model_alias(name, CHAMPION, target)
        return current.version, target

    def download(self, version) -> Path:  # noqa: ANN001
        """A local copy of a version's package directory."""
        from mlflow.artifacts import download_artifacts

        target = Path(tempfile.mkdtemp(prefix=f"package-{version.name}-{version.version}-"))
        return Path(download_artifacts(artifact_uri=version.source, dst_path=str(target)))


def registered_snapshots(registry: Registry) -> set[int]:
    """The lake snapshot ids that registered versions name (training and evaluation rows).

    The lake's maintenance keeps these snapshots when it expires others, so that
    ``factory training-set`` can read every registered version's rows again.
    """
    from factory_assets.lib.lake_snapshots import SNAPSHOT_TAGS

    found = set()
    for version in pages(registry.client.search_model_versions):
        found |= {int(version.tags[t]) for t in SNAPSHOT_TAGS if version.tags.get(t)}
    return found


def pages(search) -> list:  # noqa: ANN001 (an MlflowClient search method)
    """Every item an MLflow search answers, page after page."""
    found, token = [], None
    while True:
        page = search(page_token=token)
        found += list(page)
        token = page.token
        if not token:
            return found
