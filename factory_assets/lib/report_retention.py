"""Retention of the report store: the drift caches of model versions no longer served.

For each champion, drift keeps caches in the model's report folder (lib/drift_reference.py,
lib/drift_window.py): its scored reference (Parquet, ~2 MB for a 110k-row reference), its input
relations and their residuals (.npz, ~30 MB) and a calibrated null per window length (JSON).
Without retention a replayed year of the example dataset left ~0.5 GB of them by October.
They can always be computed again, so those of a version that holds no alias (champion,
challenger) and is not among its model's newest ``newest`` versions are deleted. What people
read (each period's HTML report, the monitoring summary) is left alone, as is every folder that
is not a registered model's.
"""

import re
from pathlib import Path

from factory_assets.lib.registry import Registry, pages

# a cache file (or its lock) of one model version: drift_<kind>_v<version>_<digest>.<ext>
CACHE = re.compile(
    r"^\.?drift_(?:null|relations|reference)_v(\d+)_[0-9a-f]{12}\.(?:json|npz|parquet)(?:\.lock)?$"
)


def kept_versions(registry: Registry, newest: int) -> dict[str, set[int]]:
    """Per registered model: its versions with an alias and its ``newest`` latest versions.

    Aliases come from the registered models: a version search leaves them empty.
    """
    numbers: dict[str, list[int]] = {}
    for version in pages(registry.client.search_model_versions):
        numbers.setdefault(version.name, []).append(int(version.version))
    kept = {}
    for model in pages(registry.client.search_registered_models):
        latest = sorted(numbers.get(model.name, []))[-newest:] if newest > 0 else []
        kept[model.name] = {int(v) for v in (model.aliases or {}).values()} | set(latest)
    return kept


def prune(root: Path, kept: dict[str, set[int]]) -> list[Path]:
    """Delete the drift caches of the versions ``kept`` leaves out; the deleted files.

    Only folders named after a model in ``kept`` are looked at, and in them only cache files
    (``CACHE``): drafts being written, reports and plots stay.
    """
    deleted = []
    for name, versions in sorted(kept.items()):
        folder = root / name
        if not folder.is_dir():
            continue
        for path in sorted(folder.iterdir()):
            found = CACHE.match(path.name)
            if found and int(found.group(1)) not in versions and path.is_file():
                path.unlink(missing_ok=True)
                deleted.append(path)
    return deleted
