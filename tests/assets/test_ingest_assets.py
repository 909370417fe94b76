"""Ingest assets on a real DuckLake: idempotent per day, all-or-nothing per run."""

import datetime as dt
from pathlib import Path

import dagster as dg

from factory_assets.examples.nycflights import daily_file
from factory_assets.lib import lake
from tests.conftest import run_assets

D2, D3 = dt.date(2013, 1, 2), dt.date(2013, 1, 3)


def _rows(warehouse: Path, sql: str) -> list[tuple]:
    with lake.connect(warehouse, read_only=True) as conn:
        return conn.execute(sql).fetchall()


def test_rematerializing_a_day_replaces_exactly_that_day(defs, warehouse) -> None:  # noqa: ANN001
    assert run_assets(defs, ["raw_flights"], first=D2, last=D3).success
    before = _rows(
        warehouse,
        "select _partition_date, count(*), min(_loaded_at) from raw_flights "
        "group by all order by 1",
    )
    assert run_assets(defs, ["raw_flights"], first=D3, last=D3).success
    after = _rows(
        warehouse,
        "select _partition_date, count(*), min(_loaded_at) from raw_flights "
        "group by all order by 1",
    )
    assert [r[:2] for r in after] == [r[:2] for r in before]  # same days, same counts
    assert after[0][2] == before[0][2]  # 01-02 untouched
    assert after[1][2] > before[1][2]  # 01-03 replaced


def test_bad_rows_are_quarantined_and_good_rows_kept(defs, own_landing, warehouse) -> None:  # noqa: ANN001
    path = daily_file(own_landing / "landing", "flights", D2)
    lines = path.read_text().splitlines(True)
    broken = lines[1].replace("2013,1,2,", "2013,1,2,soon,", 1)  # one field too many
    wrong_type = lines[2].split(",")
    wrong_type[10] = "far"  # distance
    path.write_text("".join([lines[0], broken, ",".join(wrong_type), *lines[3:], lines[4]]))

    result = run_assets(defs, ["raw_flights"], first=D2, last=D2)

    assert result.success
    assert _rows(warehouse, "select count(*) from raw_flights") == [(len(lines) - 3,)]
    quarantined = _rows(warehouse, "select line, reason from raw_flights_quarantine order by line")
    assert [line for line, _ in quarantined] == [2, 3, len(lines) + 1]
    assert quarantined[1][1] == "distance: cannot read 'far' as Int32"
    metadata = result.get_asset_materialization_events()[0].materialization.metadata
    assert metadata["quarantined_rows"].value == 3
    assert metadata["dagster/partition_row_count"].value == len(lines) - 3


def test_an_unusable_file_fails_the_run_and_changes_nothing(defs, own_landing, warehouse) -> None:  # noqa: ANN001
    assert run_assets(defs, ["raw_flights"], first=D2, last=D3).success
    before = _rows(
        warehouse,
        "select _partition_date, count(*), max(_loaded_at) from raw_flights "
        "group by all order by 1",
    )
    path = daily_file(own_landing / "landing", "flights", D3)
    path.write_bytes(path.read_bytes()[:-40])  # an upload cut short

    result = run_assets(defs, ["raw_flights"], first=D2, last=D3)

    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    message = failure.step_failure_data.user_failure_data.description
    assert "2013-01-03" in message and "truncated" in message
    assert "the warehouse is as it was" in message
    assert not any(e.event_type_value == "STEP_UP_FOR_RETRY" for e in result.all_events)
    after = _rows(
        warehouse,
        "select _partition_date, count(*), max(_loaded_at) from raw_flights "
        "group by all order by 1",
    )
    assert after == before


def test_reference_assets_swap_whole_tables(defs, warehouse) -> None:  # noqa: ANN001
    result = run_assets(defs, ["raw_planes", "raw_airports", "raw_airlines"])
    assert result.success
    assert _rows(warehouse, "select count(*) from raw_airlines") == [(16,)]
    for event in result.get_asset_materialization_events():
        metadata = event.materialization.metadata
        assert metadata["dagster/row_count"].value > 0
        assert isinstance(metadata["dagster/column_schema"].value, dg.TableSchema)
