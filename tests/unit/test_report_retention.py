"""The report store's retention: drift caches of versions no longer served go, the rest stays."""

from pathlib import Path

from factory_assets.lib.report_retention import kept_versions, prune
from factory_assets.resources import TrackingStore

DIGEST = "0123456789ab"


def _caches(folder: Path, version: int) -> list[Path]:
    """The cache files (and a lock) drift writes for one version."""
    names = [
        f"drift_reference_v{version}_{DIGEST}.parquet",
        f"drift_relations_v{version}_{DIGEST}.npz",
        f".drift_relations_v{version}_{DIGEST}.npz.lock",
        f"drift_null_v{version}_{DIGEST}.json",
        f"drift_null_v{version}_ba9876543210.json",
    ]
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        (folder / name).write_text("x")
    return [folder / n for n in names]


def test_only_caches_of_versions_neither_aliased_nor_newest_are_deleted(tmp_path: Path) -> None:
    tracking = TrackingStore(
        tracking_uri=f"sqlite:///{tmp_path}/mlflow.db", artifact_location=f"file://{tmp_path}/a"
    )
    client = tracking.registry().client
    for name in ("days", "days-east"):
        client.create_registered_model(name)
        for _ in range(5):
            client.create_model_version(name, source="/nowhere/package")
    client.set_registered_model_alias("days", "champion", "1")  # rolled back to version 1
    client.set_registered_model_alias("days-east", "challenger", "2")

    kept = kept_versions(tracking.registry(), newest=2)
    assert kept == {"days": {1, 4, 5}, "days-east": {2, 4, 5}}

    root = tmp_path / "reports"
    files = {(m, v): _caches(root / m, v) for m in ("days", "days-east") for v in range(1, 6)}
    others = [root / "days" / n for n in ("drift_2013-05-01.html", "monitoring_summary.png")]
    others += [root / "days" / f".drift_reference_v2_{DIGEST}.parquet.123.tmp"]  # a draft
    for path in others:
        path.write_text("x")
    unregistered = _caches(root / "retired", 1)

    deleted = prune(root, kept)

    gone = {p for (m, v), paths in files.items() if v not in kept[m] for p in paths}
    assert set(deleted) == gone and all(not p.exists() for p in gone)
    stay = [p for (m, v), paths in files.items() if v in kept[m] for p in paths]
    assert all(p.exists() for p in stay + others + unregistered)
    assert prune(root, kept) == []  # nothing left to do


def test_without_newest_versions_only_aliased_ones_are_kept(tmp_path: Path) -> None:
    tracking = TrackingStore(
        tracking_uri=f"sqlite:///{tmp_path}/mlflow.db", artifact_location=f"file://{tmp_path}/a"
    )
    client = tracking.registry().client
    client.create_registered_model("days")
    for _ in range(3):
        client.create_model_version("days", source="/nowhere/package")
    client.set_registered_model_alias("days", "champion", "2")
    assert kept_versions(tracking.registry(), newest=0) == {"days": {2}}
