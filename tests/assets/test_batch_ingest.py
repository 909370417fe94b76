"""A batch source through real loading: a dynamic partition per file, ``_batch`` on its rows."""

from pathlib import Path

import dagster as dg

from factory_assets.lib import lake
from factory_assets.resources import LandingZone, Warehouse
from tests.assets.test_source_specs import _defs_from
from tests.unit.test_batch_sources import CUSTOMERS

HEADER = "customer_id,tenure_months,churned\n"


def _land(root: Path, batch: str, rows: list[str]) -> None:
    path = root / "landing" / "crm" / f"customers_{batch}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(HEADER + "".join(f"{row}\n" for row in rows))


def _rows(warehouse: Path, sql: str) -> list[tuple]:
    with lake.connect(warehouse, read_only=True) as conn:
        return conn.execute(sql).fetchall()


def test_a_batch_source_loads_each_batch_and_replaces_exactly_it(tmp_path: Path) -> None:
    data, warehouse = tmp_path / "data", tmp_path / "warehouse.sqlite"
    _land(data, "01", ["c1,12,true", "c2,-1,false", "c3,3,false"])
    _land(data, "02", ["c4,1,true"])
    resources = {
        "duckdb": Warehouse(catalog=str(warehouse)),
        "landing": LandingZone(root=str(data)),
    }
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions("crm_batches", ["01", "02"])

    with _defs_from({"customers": CUSTOMERS}) as (defs, _):
        asset = defs.get_assets_def("raw_customers")
        assert isinstance(asset.partitions_def, dg.DynamicPartitionsDefinition)
        assert asset.partitions_def.name == "crm_batches"
        for batch in ("01", "02"):
            assert dg.materialize(
                [asset], partition_key=batch, resources=resources, instance=instance
            ).success
        assert _rows(warehouse, "select customer_id, _batch from raw_customers order by 1") == [
            ("c1", "01"),
            ("c3", "01"),
            ("c4", "02"),
        ]
        assert _rows(warehouse, "select _batch, line, reason from raw_customers_quarantine") == [
            ("01", 3, "tenure_months: -1 outside [0, 1200]")
        ]

        _land(data, "01", ["c1,13,true", "c2,2,false"])  # corrected
        before = _rows(warehouse, "select * from raw_customers where _batch = '02'")
        assert dg.materialize(
            [asset], partition_key="01", resources=resources, instance=instance
        ).success

    assert _rows(
        warehouse,
        "select customer_id, tenure_months from raw_customers where _batch = '01' order by 1",
    ) == [("c1", 13), ("c2", 2)]
    assert _rows(warehouse, "select count(*) from raw_customers_quarantine") == [(0,)]
    assert _rows(warehouse, "select * from raw_customers where _batch = '02'") == before
