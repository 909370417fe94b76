"""The warehouse's tables, their columns and how each is built, known before anything runs.

Model specs are checked against it when definitions load: dbt models with the columns their
.yml declares and their materialization (read from the manifest that ``make install``
prepares) and the feature tables built in Python.
"""

import functools
import json
from dataclasses import dataclass
from pathlib import Path

from factory_assets.lib.features import PYTHON_DEPS, PYTHON_TABLES

PYTHON_MATERIALIZATION = "table"  # a Python asset writes its table with `create or replace`


@dataclass(frozen=True)
class ColumnFacts:
    """What a dbt model's .yml declares of one column: its ``data_type`` and accepted values.

    ``data_type`` is as written, lowercased (None: undeclared); ``accepted`` the values of its
    ``accepted_values`` test (None: it has none).
    """

    data_type: str | None = None
    accepted: tuple | None = None


@functools.cache
def _manifest_nodes(manifest: Path, mtime: float) -> dict[str, tuple]:
    """Table name -> (declared columns, ``config.materialized``, parent tables) of each node.

    The parents are the tables and dbt sources (by table name) the node selects from directly.
    """
    document = json.loads(manifest.read_text())
    names = {uid: node["name"] for uid, node in document["nodes"].items()}
    names.update({uid: source["name"] for uid, source in document.get("sources", {}).items()})
    return {
        node["name"]: (
            tuple(node["columns"]),
            node.get("config", {}).get("materialized", ""),
            tuple(
                names[uid] for uid in node.get("depends_on", {}).get("nodes", []) if uid in names
            ),
        )
        for node in document["nodes"].values()
        if node.get("resource_type") in {"model", "snapshot", "seed"}
    }


@functools.cache
def _column_facts(manifest: Path, mtime: float) -> dict[str, dict[str, ColumnFacts]]:
    """Table name -> column -> ColumnFacts, for every dbt model, snapshot and seed."""
    document = json.loads(manifest.read_text())
    accepted: dict[tuple[str, str], tuple] = {}
    for node in document["nodes"].values():
        test = node.get("test_metadata") or {}
        if node.get("resource_type") != "test" or test.get("name") != "accepted_values":
            continue
        kwargs = test.get("kwargs") or {}
        values = kwargs.get("values", (kwargs.get("arguments") or {}).get("values"))
        column = node.get("column_name") or kwargs.get("column_name")
        if node.get("attached_node") and column and values is not None:
            accepted[(node["attached_node"], column)] = tuple(values)
    return {
        node["name"]: {
            name: ColumnFacts(
                (column.get("data_type") or "").lower() or None, accepted.get((uid, name))
            )
            for name, column in node["columns"].items()
        }
        for uid, node in document["nodes"].items()
        if node.get("resource_type") in {"model", "snapshot", "seed"}
    }


# What a Python feature table declares of its columns, as a dbt .yml does (table -> column ->
# facts): a model whose label is in such a table is checked by it (none ships: flight_features'
# label comes from fct_flights, data.labels_from)
PYTHON_FACTS: dict[str, dict[str, ColumnFacts]] = {}


def column_facts(manifest: Path) -> dict[str, dict[str, ColumnFacts]]:
    """Table name -> column -> what its .yml declares (data_type, accepted values).

    dbt's models from the manifest, and the Python feature tables that declare theirs
    (``PYTHON_FACTS``).

    Raises:
        FileNotFoundError: the manifest has not been prepared (``make install``).
    """
    _read(manifest)
    return {**_column_facts(manifest, manifest.stat().st_mtime), **PYTHON_FACTS}


def _read(manifest: Path) -> dict[str, tuple]:
    if not manifest.exists():
        raise FileNotFoundError(f"{manifest} is missing: run `make install` (dbt parse) first")
    return _manifest_nodes(manifest, manifest.stat().st_mtime)


def warehouse_tables(manifest: Path) -> dict[str, tuple[str, ...]]:
    """Table name -> declared columns, from the dbt manifest and the Python feature tables.

    Raises:
        FileNotFoundError: the manifest has not been prepared (``make install``).
    """
    dbt = {name: node[0] for name, node in _read(manifest).items()}
    return {**dbt, **PYTHON_TABLES}


def materialization(manifest: Path, table: str) -> str | None:
    """How ``table`` is built; None for a name the warehouse does not know.

    dbt's ``config.materialized`` (``view``, ``table``, ``incremental``, ...) for a dbt model,
    ``table`` for a Python feature table. A ``view`` holds no rows: it is computed on every
    read, so rebuilding it changes nothing until its SQL does.

    Raises:
        FileNotFoundError: the manifest has not been prepared (``make install``).
    """
    if table in PYTHON_TABLES:
        return PYTHON_MATERIALIZATION
    node = _read(manifest).get(table)
    return None if node is None else node[1]


def upstream_tables(manifest: Path, table: str) -> set[str]:
    """Every table ``table`` is built from, through dbt and the Python feature tables.

    Raises:
        FileNotFoundError: the manifest has not been prepared (``make install``).
    """
    lineage = {**{name: node[2] for name, node in _read(manifest).items()}, **PYTHON_DEPS}
    seen, todo = set(), [table]
    while todo:
        for parent in lineage.get(todo.pop(), ()):
            if parent not in seen:
                seen.add(parent)
                todo.append(parent)
    return seen
