"""``factory migrate-warehouse``: an old DuckDB-file warehouse's tables land in the lake."""

import struct
from pathlib import Path

import duckdb
import pytest

from factory_assets.cli import main
from factory_assets.lib.lake import connect

ROWS = {"main.fct_days": 1000, "main.dim_moods": 2, "marts.feat_days": 10}


def _old_warehouse(path: Path) -> Path:
    """A warehouse file as the line wrote them (here by duckdb 1.5.5): tables, a view."""
    with duckdb.connect(str(path)) as conn:
        conn.execute("create type mood as enum ('calm', 'late')")
        conn.execute(
            "create table fct_days as select range as id, range % 30 as day, "
            "[range, range + 1]::integer[2] as pair from range(1000)"
        )
        conn.execute("create table dim_moods as select unnest(['calm', 'late'])::mood as mood")
        conn.execute("create schema marts")
        conn.execute("create table marts.feat_days as select range as day from range(10)")
        conn.execute("create view stg_days as select distinct day from fct_days")
    return path


@pytest.fixture
def lake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The lake the settings name: a fresh SQLite catalog."""
    path = tmp_path / "lake" / "warehouse.sqlite"
    monkeypatch.setenv("FACTORY_WAREHOUSE", str(path))
    return path


def test_every_table_lands_with_its_rows_and_views_are_left_to_dbt(
    tmp_path: Path, lake: Path, capsys: pytest.CaptureFixture
) -> None:
    old = _old_warehouse(tmp_path / "warehouse.duckdb")
    assert main(["migrate-warehouse", str(old)]) == 0
    out = capsys.readouterr().out
    for name, rows in ROWS.items():
        assert f"{name}" in out and f"{rows:>12}  {rows:>12}  ok" in out
    assert "1 views not copied" in out
    with connect(lake, read_only=True) as conn:
        assert conn.execute("select sum(id), sum(pair[2]) from fct_days").fetchone() == (
            499500,
            500500,
        )
        assert conn.execute("select typeof(mood) from dim_moods limit 1").fetchone() == ("VARCHAR",)
        assert conn.execute("select count(*) from marts.feat_days").fetchone() == (10,)
        views = conn.execute("select count(*) from duckdb_views() where not internal").fetchone()
        assert views == (0,)


def test_a_lake_with_rows_is_not_overwritten_without_replace(
    tmp_path: Path, lake: Path, capsys: pytest.CaptureFixture
) -> None:
    old = _old_warehouse(tmp_path / "warehouse.duckdb")
    assert main(["migrate-warehouse", str(old)]) == 0
    with connect(lake) as conn:
        conn.execute("delete from fct_days where id >= 10")
    capsys.readouterr()
    assert main(["migrate-warehouse", str(old)]) == 2
    assert "already has rows in main.dim_moods, main.fct_days" in capsys.readouterr().out
    with connect(lake, read_only=True) as conn:
        assert conn.execute("select count(*) from fct_days").fetchone() == (10,)
    assert main(["migrate-warehouse", str(old), "--replace"]) == 0
    with connect(lake, read_only=True) as conn:
        assert conn.execute("select count(*) from fct_days").fetchone() == (1000,)


@pytest.mark.parametrize("form", ["parquet", "csv"])
def test_an_export_database_folder_is_migrated(
    tmp_path: Path, lake: Path, form: str, capsys: pytest.CaptureFixture
) -> None:
    old = _old_warehouse(tmp_path / "warehouse.duckdb")
    export = tmp_path / "export"
    with duckdb.connect(str(old), read_only=True) as conn:
        conn.execute(f"export database '{export}' (format {form})")
    assert main(["migrate-warehouse", str(export)]) == 0
    assert capsys.readouterr().out.count("  ok") == len(ROWS)


def test_a_file_of_a_newer_duckdb_says_how_to_export_it(
    tmp_path: Path, lake: Path, capsys: pytest.CaptureFixture
) -> None:
    """DuckDB 2.x writes storage version 69, which 1.5.5 cannot read.

    The file is a 1.5.5 one with its header's version set to 69 (and the header's checksum
    fixed), so 1.5.5 refuses it exactly as it refuses a 2.x file.
    """
    path = _old_warehouse(tmp_path / "warehouse.duckdb")
    header = bytearray(path.read_bytes()[:4096])
    (checksum, before) = struct.unpack_from("<QQ", header)
    header[12] = 69  # the storage version, after the checksum (8 bytes) and "DUCK"
    (after,) = struct.unpack_from("<Q", header, 8)
    mix = 0xBF58476D1CE4E5B9  # DuckDB's checksum xors each 8-byte word times this
    checksum ^= (before * mix) % 2**64 ^ (after * mix) % 2**64
    struct.pack_into("<Q", header, 0, checksum)
    with path.open("r+b") as file:
        file.write(header)
    assert main(["migrate-warehouse", str(path)]) == 2
    out = capsys.readouterr().out
    assert "version number 69" in out
    assert f"EXPORT DATABASE '{tmp_path / 'warehouse_export'}' (FORMAT parquet)" in out
    assert not lake.exists() or _lake_tables(lake) == 0


def _lake_tables(lake: Path) -> int:
    with connect(lake, read_only=True) as conn:
        return conn.execute("select count(*) from duckdb_tables() where not internal").fetchone()[0]
