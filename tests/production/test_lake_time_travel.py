"""Time travel on the production catalog: rows read at a snapshot of a Postgres-catalogued lake."""

from collections.abc import Callable
from pathlib import Path

import pytest
from polars.testing import assert_frame_equal

from factory_assets.lib.lake import Lake
from factory_assets.lib.lake_snapshots import (
    current_snapshot,
    labelled_frames,
    read_labelled,
    read_labelled_at,
)
from tests.unit.test_lake_snapshots import LINE, WINDOW, fill, land_more

pytestmark = [pytest.mark.postgres]


@pytest.fixture
def lake(postgres: dict[str, str], new_database: Callable[[str], str], tmp_path: Path) -> Lake:
    """A filled lake whose catalog is a fresh Postgres database (PGPASSWORD from the env)."""
    conninfo = (
        f"dbname={new_database('lake')} host={postgres['host']} port={postgres['port']} "
        f"user={postgres['user']}"
    )
    return fill(Lake.parse(f"postgres:{conninfo}", tmp_path / "data"))


def test_rows_at_a_snapshot_stay_as_they_were_on_postgres(lake: Lake) -> None:
    frames, snapshot = read_labelled(lake, LINE, WINDOW, [None])
    land_more(lake)
    assert_frame_equal(read_labelled_at(lake, LINE, WINDOW, [None], snapshot)[None], frames[None])
    now, newest = read_labelled(lake, LINE, WINDOW, [None])
    assert newest == snapshot + 3 and now[None].height > frames[None].height


def test_a_transaction_reads_one_snapshot_on_postgres(lake: Lake) -> None:
    with lake.connect() as reader:
        reader.execute("begin transaction")
        snapshot = current_snapshot(reader)
        before = labelled_frames(reader, LINE, WINDOW, [None])[None]
        land_more(lake)
        assert current_snapshot(reader) == snapshot
        assert_frame_equal(labelled_frames(reader, LINE, WINDOW, [None])[None], before)
        reader.execute("rollback")
