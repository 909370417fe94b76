"""A new lake's SQLite catalog appears whole: readers and racing writers never see it half made."""

import threading
from pathlib import Path

from factory_assets.lib.lake import Lake, open_lake


def test_a_reader_first_on_a_new_lake_gets_an_empty_lake(tmp_path: Path) -> None:
    lake = Lake.parse(tmp_path / "warehouse.sqlite")
    conn = open_lake(lake, read_only=True)
    try:
        assert conn.execute("select count(*) from information_schema.tables "
                            "where table_catalog = 'warehouse'").fetchone() == (0,)  # fmt: skip
    finally:
        conn.close()
    made = {p.name for p in tmp_path.iterdir()} - {"warehouse.sqlite-wal", "warehouse.sqlite-shm"}
    assert made == {"warehouse.sqlite", "warehouse.sqlite.files"}  # and no draft left


def test_creators_of_one_lake_at_once_share_it(tmp_path: Path) -> None:
    lake = Lake.parse(tmp_path / "warehouse.sqlite")
    errors: list[BaseException] = []

    def create(i: int) -> None:
        try:
            conn = open_lake(lake, read_only=i % 2 == 1)  # writers and readers, all first
            conn.close()
        except BaseException as err:  # noqa: BLE001 (what each one met is the assertion)
            errors.append(err)

    threads = [threading.Thread(target=create, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    conn = open_lake(lake)
    try:
        conn.execute("create table t as select 1 as x")
        assert conn.execute("select x from t").fetchone() == (1,)
    finally:
        conn.close()
    assert not [p for p in tmp_path.iterdir() if ".creating-" in p.name]  # no draft left
