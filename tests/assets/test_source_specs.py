"""Ingest assets from YAML source specs: the shipped six, a new dataset, and broken specs."""

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import polars as pl
import pytest
import yaml
from dagster.components.testing import create_defs_folder_sandbox

from factory_assets.components.spec_loading import BadSpec
from factory_assets.lib import lake
from factory_assets.resources import LandingZone, Warehouse
from factory_assets.specs import ROOT, source_spec
from tests.unit.test_source_specs import BAD_SPECS, FUEL

COMPONENT_TYPE = "factory_assets.components.landing_source.LandingSource"
SPECS_DIR = ROOT / "defs" / "ingest"
SHIPPED = ["flights", "weather", "outcomes", "planes", "airports", "airlines"]
HEADER = "origin,year,month,day,usd_per_gallon\n"


@contextmanager
def _defs_from(specs: dict[str, dict]) -> Iterator[tuple[dg.Definitions, Path]]:
    """Definitions of a throwaway project whose defs/ holds one folder per spec."""
    with create_defs_folder_sandbox() as sandbox:
        for folder, attributes in specs.items():
            (sandbox.defs_folder_path / folder).mkdir()
            document = {"type": COMPONENT_TYPE, "attributes": attributes}
            (sandbox.defs_folder_path / folder / "defs.yaml").write_text(
                yaml.safe_dump(document, sort_keys=False)
            )
        with sandbox.build_all_defs() as defs:
            yield defs, sandbox.defs_folder_path


def test_the_shipped_specs_are_the_ingest_assets(defs: dg.Definitions) -> None:
    graph = defs.resolve_asset_graph()
    for name in SHIPPED:
        spec = source_spec(name)
        node = graph.get(dg.AssetKey(f"raw_{name}"))
        asset = node.to_asset_spec()
        assert asset.description == spec.description
        assert (asset.group_name, asset.owners, node.pools) == (
            "ingest",
            ["team:data-platform"],
            set(),  # no pool: ingest steps of different days write side by side
        )
        assert set(asset.kinds) == {"polars", "duckdb", "csv"}
        assert (node.partitions_def is not None) == (spec.grain == "daily"), name
        [reference] = asset.metadata["dagster/code_references"].code_references
        assert Path(reference.file_path) == SPECS_DIR / name / "defs.yaml"
    assert not list(SPECS_DIR.glob("*.py")), "ingest assets come from YAML only"


def _land(root: Path, day: str, rows: list[str]) -> None:
    path = root / "landing" / "fuel" / day[:4] / f"fuel_{day}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(HEADER + "".join(f"{row}\n" for row in rows))


def _rows(warehouse: Path, sql: str) -> list[tuple]:
    with lake.connect(warehouse, read_only=True) as conn:
        return conn.execute(sql).fetchall()


def test_a_new_dataset_needs_only_a_yaml_spec(tmp_path: Path) -> None:
    data, warehouse = tmp_path / "data", tmp_path / "warehouse.sqlite"
    _land(data, "2013-01-02", ["EWR,2013,1,2,3.10", "JFK,2013,1,2,-1", "LGA,2013,1,2,3.30"])
    _land(data, "2013-01-03", ["EWR,2013,1,3,3.20"])
    resources = {
        "duckdb": Warehouse(catalog=str(warehouse)),
        "landing": LandingZone(root=str(data)),
    }

    with _defs_from({"fuel_prices": FUEL}) as (defs, _):
        asset = defs.get_assets_def("raw_fuel_prices")
        assert asset.partitions_def is not None and asset.group_names_by_key == {
            asset.key: "ingest"
        }
        for day in ("2013-01-02", "2013-01-03"):
            assert dg.materialize([asset], partition_key=day, resources=resources).success
        assert _rows(warehouse, "select origin from raw_fuel_prices order by all") == [
            ("EWR",),
            ("EWR",),
            ("LGA",),
        ]
        assert _rows(warehouse, "select line, reason from raw_fuel_prices_quarantine") == [
            (3, "usd_per_gallon: -1.0 outside [0, 20]")
        ]

        _land(data, "2013-01-02", ["EWR,2013,1,2,3.15", "JFK,2013,1,2,3.25"])  # corrected
        before = _rows(warehouse, "select * from raw_fuel_prices where day = 3")
        assert dg.materialize([asset], partition_key="2013-01-02", resources=resources).success

    assert _rows(
        warehouse, "select origin, usd_per_gallon from raw_fuel_prices where day = 2 order by 1"
    ) == [("EWR", 3.15), ("JFK", 3.25)]
    assert _rows(warehouse, "select count(*) from raw_fuel_prices_quarantine") == [(0,)]
    assert _rows(warehouse, "select * from raw_fuel_prices where day = 3") == before


def test_a_parquet_source_delivered_a_day_late(tmp_path: Path) -> None:
    data, warehouse = tmp_path / "data", tmp_path / "warehouse.sqlite"
    spec = {**FUEL, "path": "fuel/{yyyy}/fuel_{date}.parquet", "file_format": "parquet"}
    rows = {"origin": ["EWR", "JFK"], "year": [2013] * 2, "month": [1] * 2, "day": [2, 3]}
    path = data / "landing" / "fuel" / "2013" / "fuel_2013-01-03.parquet"
    path.parent.mkdir(parents=True)
    pl.DataFrame({**rows, "usd_per_gallon": [3.1, 3.2]}).write_parquet(path)
    resources = {
        "duckdb": Warehouse(catalog=str(warehouse)),
        "landing": LandingZone(root=str(data)),
    }

    with _defs_from({"fuel_prices": {**spec, "lag": 1}}) as (defs, _):
        asset = defs.get_assets_def("raw_fuel_prices")
        assert set(asset.specs_by_key[asset.key].kinds) == {"polars", "duckdb", "parquet"}
        assert dg.materialize([asset], partition_key="2013-01-03", resources=resources).success

    assert _rows(warehouse, "select origin, _partition_date::varchar from raw_fuel_prices") == [
        ("EWR", "2013-01-03")  # the file's (delivery) partition; its rows describe the day before
    ]
    assert _rows(
        warehouse, "select line, reason, _partition_date::varchar from raw_fuel_prices_quarantine"
    ) == [(2, "row is dated 2013-01-03, outside this file's period 2013-01-02", "2013-01-03")]


@pytest.mark.parametrize("case", list(BAD_SPECS))
def test_a_broken_spec_fails_the_load_with_its_own_message(case: str) -> None:
    attributes, field, allowed = BAD_SPECS[case]
    with pytest.raises(BadSpec) as raised, _defs_from({"fuel_prices": attributes}):
        pass
    message = str(raised.value)  # the headline of the load error, not a tree of components
    assert re.match(r"\S+/fuel_prices/defs.yaml:\d+: " + re.escape(f"{field}: "), message), message
    assert allowed in message, message


def test_a_source_declared_twice_fails_the_load_naming_both_files() -> None:
    with pytest.raises(BadSpec) as raised, _defs_from({"fuel": FUEL, "fuel_again": FUEL}):
        pass
    message = str(raised.value)
    assert ": name: source 'fuel_prices' is declared 2 times (" in message
    assert "/fuel/defs.yaml" in message and "/fuel_again/defs.yaml" in message
    assert message.endswith("allowed: a name no other spec uses")


def test_a_definitions_load_parses_each_source_spec_once(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # The components, the jobs, the model lines and, at run time, their schedules all read what
    # Dagster's loader parsed: no other YAML read of a spec (PyYAML is what every parser calls).
    texts: list[str] = []
    for name in ("load", "load_all", "safe_load", "safe_load_all"):
        original = getattr(yaml, name)

        def counting(stream, *args, _original=original, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
            texts.append(stream if isinstance(stream, str) else "")
            return _original(stream, *args, **kwargs)

        monkeypatch.setattr(yaml, name, counting)
    defs = dg.ComponentTree.for_project(ROOT).build_defs()
    assert defs.resolve_job_def("nycflights_line") is not None
    landing = LandingZone(root=str(tmp_path))  # nothing landed: each schedule skips
    for schedule in ("nycflights_daily_line_schedule", "cancellations_schedule"):
        with dg.build_schedule_context(resources={"landing": landing}) as context:
            result = defs.resolve_schedule_def(schedule).evaluate_tick(context)
        assert result.skip_message and "has landed" in result.skip_message, schedule
    for path in SPECS_DIR.glob("*/defs.yaml"):
        assert texts.count(path.read_text()) == 1, path
