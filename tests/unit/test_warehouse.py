"""Warehouse writes appear whole or not at all, on a DuckLake as the stations open it."""

import datetime as dt
from pathlib import Path

import duckdb
import polars as pl
import pytest

from factory_assets.lib.lake import connect
from factory_assets.lib.warehouse import (
    describe_table,
    replace_partitions,
    replace_tables,
    table_exists,
    transaction,
)

D1, D2 = dt.date(2013, 1, 1), dt.date(2013, 1, 2)


def _frame(day: dt.date, values: list[int]) -> pl.DataFrame:
    return pl.DataFrame({"_partition_date": [day] * len(values), "v": values})


@pytest.fixture
def conn(tmp_path: Path):  # noqa: ANN201
    with connect(tmp_path / "w.sqlite") as connection:
        yield connection


def test_replace_partitions_touches_only_the_given_days(conn) -> None:  # noqa: ANN001
    replace_partitions(
        conn, [("t", pl.concat([_frame(D1, [1, 2]), _frame(D2, [3])]))], "_partition_date", [D1, D2]
    )
    replace_partitions(conn, [("t", _frame(D2, [4, 5, 6]))], "_partition_date", [D2])
    rows = conn.execute("select _partition_date, sum(v), count(*) from t group by 1 order by 1")
    assert rows.fetchall() == [(D1, 3, 2), (D2, 15, 3)]


def test_a_new_column_is_added_and_reads_null_on_older_rows(conn) -> None:  # noqa: ANN001
    replace_partitions(conn, [("t", _frame(D1, [1]))], "_partition_date", [D1])
    newer = _frame(D2, [2]).with_columns(pl.lit("m").alias("model_name"))
    replace_partitions(conn, [("t", newer)], "_partition_date", [D2])
    rows = conn.execute("select _partition_date, v, model_name from t order by 1").fetchall()
    assert rows == [(D1, 1, None), (D2, 2, "m")]


def test_a_failed_write_leaves_every_table_as_it_was(conn) -> None:  # noqa: ANN001
    replace_partitions(
        conn, [("t", _frame(D1, [1])), ("q", _frame(D1, [9]))], "_partition_date", [D1]
    )
    wrong_shape = pl.DataFrame({"_partition_date": [D1], "v": ["not a number"]})
    with pytest.raises(duckdb.Error):
        replace_partitions(
            conn, [("q", _frame(D1, [8])), ("t", wrong_shape)], "_partition_date", [D1]
        )
    assert conn.execute("select v from t").fetchall() == [(1,)]
    assert conn.execute("select v from q").fetchall() == [(9,)]


def test_replace_tables_swaps_all_or_nothing(conn) -> None:  # noqa: ANN001
    replace_tables(conn, [("a", pl.DataFrame({"x": [1]})), ("b", pl.DataFrame({"y": [2]}))])
    assert describe_table(conn, "a") == (1, [("x", "BIGINT")])
    with pytest.raises(duckdb.Error):  # the second swap fails: the first must not stay
        replace_tables(
            conn, [("a", pl.DataFrame({"x": [7, 8]})), ("b c", pl.DataFrame({"z": [3]}))]
        )
    assert conn.execute("select * from a").fetchall() == [(1,)]


def test_a_write_is_seen_by_another_connection_only_once_committed(conn, tmp_path: Path) -> None:  # noqa: ANN001
    replace_partitions(conn, [("t", _frame(D1, [1]))], "_partition_date", [D1])
    with connect(tmp_path / "w.sqlite", read_only=True) as reader:
        conn.execute("begin transaction")
        conn.execute("delete from t")
        conn.execute("insert into t values (?, 5), (?, 6)", [D1, D1])
        assert reader.execute("select v from t").fetchall() == [(1,)]
        conn.execute("commit")
        assert reader.execute("select v from t order by v").fetchall() == [(5,), (6,)]


def test_the_lake_is_asked_about_its_tables_not_the_in_memory_database(conn) -> None:  # noqa: ANN001
    conn.execute("create table memory.main.only_in_memory as select 1 as x, 2 as y")
    conn.execute("create table memory.main.a as select 'wrong' as z")
    assert not table_exists(conn, "only_in_memory")
    replace_tables(conn, [("a", pl.DataFrame({"x": [1, 2]}))])
    assert table_exists(conn, "a")
    assert describe_table(conn, "a") == (2, [("x", "BIGINT")])


def test_asking_for_a_missing_table_inside_a_transaction_keeps_it(conn) -> None:  # noqa: ANN001
    replace_tables(conn, [("a", pl.DataFrame({"x": [1]}))])
    with transaction(conn):
        conn.execute("insert into a values (2)")
        assert not table_exists(conn, "not_yet")
        assert table_exists(conn, "a")
        conn.execute("insert into a values (3)")
    assert conn.execute("select x from a order by x").fetchall() == [(1,), (2,), (3,)]
