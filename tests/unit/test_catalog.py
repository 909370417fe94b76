"""How each warehouse table is built, read from the dbt manifest and the Python feature tables."""

import json
import os
from pathlib import Path

import pytest

from factory_assets.components.model_spec import MANIFEST
from factory_assets.lib.catalog import ColumnFacts, column_facts, materialization, warehouse_tables


def _manifest(path: Path, **materialized: str) -> Path:
    nodes = {
        f"model.factory.{name}": {
            "name": name,
            "resource_type": "model",
            "columns": {"flight_id": {}},
            "config": {"materialized": how},
        }
        for name, how in materialized.items()
    }
    nodes["test.factory.not_null"] = {"name": "not_null", "resource_type": "test", "config": {}}
    path.write_text(json.dumps({"nodes": nodes}))
    return path


@pytest.mark.parametrize(
    ("table", "expected"),
    [
        ("feat_view", "view"),
        ("fct_table", "table"),
        ("fct_incremental", "incremental"),
        ("flight_features", "table"),  # built in Python
        ("not_null", None),  # a test, not a table
        ("nowhere", None),
    ],
)
def test_materialization_of_each_kind_of_table(tmp_path: Path, table: str, expected: str) -> None:
    manifest = _manifest(
        tmp_path / "manifest.json",
        feat_view="view",
        fct_table="table",
        fct_incremental="incremental",
    )
    assert materialization(manifest, table) == expected
    assert ("flight_id" in warehouse_tables(manifest).get(table, ())) == (expected is not None)


def test_a_rewritten_manifest_is_read_again(tmp_path: Path) -> None:
    manifest = _manifest(tmp_path / "manifest.json", feat="view")
    assert materialization(manifest, "feat") == "view"
    _manifest(manifest, feat="table")
    stat = manifest.stat()
    os.utime(manifest, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert materialization(manifest, "feat") == "table"


def test_the_project_manifest_knows_the_feature_tables() -> None:
    assert materialization(MANIFEST, "ml_cancellation_features") == "view"
    assert materialization(MANIFEST, "fct_flights") == "incremental"


def test_a_missing_manifest_says_how_to_make_it(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="make install"):
        materialization(tmp_path / "manifest.json", "ml_cancellation_features")


def test_the_project_manifest_declares_each_label_columns_type_or_values() -> None:
    facts = column_facts(MANIFEST)
    assert facts["ml_chicago_ridership_features"]["rides_thousands"] == ColumnFacts("double")
    assert facts["ml_delay_class_features"]["delay_class"].accepted == (
        "on_time",
        "late",
        "very_late",
    )
    assert facts["fct_flights"]["is_late"].accepted == (True, False)
    assert facts["ml_screening_features"]["is_malignant"].data_type == "boolean"
    assert facts["ml_cancellation_features"]["route"] == ColumnFacts()  # declares nothing


def test_accepted_values_under_arguments_are_read_too(tmp_path: Path) -> None:
    manifest = _manifest(tmp_path / "manifest.json", feat="view")
    document = json.loads(manifest.read_text())
    document["nodes"]["test.factory.accepted_values_feat_flight_id"] = {
        "name": "accepted_values_feat_flight_id",
        "resource_type": "test",
        "attached_node": "model.factory.feat",
        "column_name": "flight_id",
        "test_metadata": {"name": "accepted_values", "kwargs": {"arguments": {"values": [0, 1]}}},
    }
    manifest.write_text(json.dumps(document))
    assert column_facts(manifest)["feat"]["flight_id"] == ColumnFacts(None, (0, 1))
