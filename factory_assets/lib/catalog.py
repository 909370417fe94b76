"""What tables the warehouse holds and their columns, known before anything runs.

Model specs are checked against it when definitions load: dbt models with the columns their
.yml declares (read from the manifest that ``make install`` prepares) and the feature tables
built in Python.
"""

import functools
import json
from pathlib import Path

from factory_assets.lib.training.dataset import CATEGORICAL, NUMERIC

PYTHON_TABLES: dict[str, tuple[str, ...]] = {
    "flight_features": ("flight_id", "flight_date", *CATEGORICAL, *NUMERIC),
}


@functools.cache
def _manifest_tables(manifest: Path, mtime: float) -> dict[str, tuple[str, ...]]:
    nodes = json.loads(manifest.read_text())["nodes"].values()
    return {
        node["name"]: tuple(node["columns"])
        for node in nodes
        if node.get("resource_type") in {"model", "snapshot", "seed"}
    }


def warehouse_tables(manifest: Path) -> dict[str, tuple[str, ...]]:
    """Table name -> declared columns, from the dbt manifest and the Python feature tables.

    Raises:
        FileNotFoundError: the manifest has not been prepared (``make install``).
    """
    if not manifest.exists():
        raise FileNotFoundError(f"{manifest} is missing: run `make install` (dbt parse) first")
    return {**_manifest_tables(manifest, manifest.stat().st_mtime), **PYTHON_TABLES}
