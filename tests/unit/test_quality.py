"""Which rows a suite validates: changed_since and scoped_rows on a tiny table in a DuckLake."""

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from factory_assets.lib.lake import connect
from factory_assets.lib.quality import changed_since, scoped_rows

T = dt.datetime(2013, 5, 1, 12)
D = dt.date(2013, 5, 1)


@pytest.fixture
def conn(tmp_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """fct_flights with days 1 … 10 of May, day 9 and 10 loaded an hour after the rest."""
    with connect(tmp_path / "w.sqlite") as conn:
        conn.execute(
            "create table fct_flights as select 'f' || i as flight_id, "
            "$1::date + i::int as flight_date, "
            "$2::timestamp + case when i >= 8 then interval 1 hour else interval 0 hour end "
            "as _loaded_at from range(10) as t(i)",
            [D, T],
        )
        yield conn


@pytest.mark.parametrize(
    ("watermark", "min_days", "since"),
    [
        (None, 1, None),  # never passed: the whole table
        (T, 1, D + dt.timedelta(days=8)),  # the days loaded after the last pass
        (T, 4, D + dt.timedelta(days=6)),  # … and the newest 4 at least
        (T + dt.timedelta(hours=1), 1, None),  # nothing new: the whole table
        (T + dt.timedelta(days=1), 1, None),  # the table is older than its last pass: rebuilt
    ],
)
def test_changed_since(conn, watermark, min_days, since) -> None:  # noqa: ANN001
    assert changed_since(conn, "fct_flights", watermark, min_days, "flight_date") == (
        since,
        T + dt.timedelta(hours=1),
    )


def test_scoped_rows_count_keys_over_the_whole_table(conn) -> None:  # noqa: ANN001
    conn.execute("update fct_flights set flight_id = 'f0' where flight_id = 'f9'")
    query, since = "select * from fct_flights", D + dt.timedelta(days=8)
    rows = scoped_rows(conn, "fct_flights", query, "flight_id", since, "flight_date")
    assert rows.set_index("flight_id")["flight_id_copies_in_table"].to_dict() == {
        "f8": 1,
        "f0": 2,  # on 10 May; its first copy, on 1 May, is outside the scope
    }
    assert len(scoped_rows(conn, "fct_flights", query, "flight_id", None, "flight_date")) == 10
