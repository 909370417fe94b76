"""Retention of the report store: the drift caches of model versions no longer served.

For each champion, drift keeps caches in the model's report folder (lib/drift_reference.py,
lib/drift_window.py): its scored reference (Parquet, ~2 MB for 90 days of flights), its input
relations and their residuals (.npz, ~30 MB) and a calibrated null per window length (JSON,
~5.5 MB each). Without retention a replayed year of flights left ~0.5 GB of them by October.
They can always be computed again, so those of a version that holds no alias (champion,
challenger) and is not among its model's newest ``newest`` versions are deleted. What people
read (each period's HTML report, the monitoring summary) is left alone, as is every folder that
is not a registered model's.
"""

import re
from pathlib import Path

from factory_assets.lib.registry import Registry

# a cache file (or its lock) of one model version: drift_<kind>_v<version>_<digest>.<ext>
CACHE = re.compile(
    r"^\.?drift_(?:null|relations|reference)_v(\d+)_[0-9a-f]{12}\.(?:json|npz|parquet)(?:\.lock)?$"
)


def kept_versions(registry: Registry, newest: int) -> dict[str, set[int]]:
    """Per registered model: its versions with an alias and its ``newest`` latest versions."""
    client, kept = registry.client, {}
    for model in _pages(client.search_registered_models):  # its aliases: version searches
        numbers = sorted(  # leave them out
            int(v.version) for v in _pages(client.search_model_versions, f"name = '{model.name}'")
        )
        aliased = {int(v) for v in (model.aliases or {}).values()}
        kept[model.name] = aliased | set(numbers[-newest:] if newest > 0 else [])
    return kept


def _pages(search, *args: str) -> list:  # noqa: ANN001
    """Every item of an MLflow search that answers in pages."""
    found, token = [], None
    while True:
        page = search(*args, page_token=token)
        found += list(page)
        token = page.token
        if not token:
            return found


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
