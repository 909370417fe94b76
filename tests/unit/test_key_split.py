"""The key-hash split of a model without dates: DuckDB and Python agree, the parts are disjoint."""

import datetime as dt

import duckdb
import polars as pl
import pytest

from factory_assets.lib.model_line import SPLIT_EPOCH, Split, split_bucket
from factory_assets.lib.performance import labelled_batches

KEYS = [f"s{i:04d}" for i in range(2000)] + ["a b", "ü", "x'y", "123"]


@pytest.mark.parametrize("seed", [13, 7])
def test_duckdb_computes_the_buckets_python_does(seed: int) -> None:
    sql = Split(seed=seed).day_sql("k")
    rows = duckdb.sql(
        f"select k, {sql} as day from unnest(?::varchar[]) t(k)", params=[KEYS]
    ).fetchall()
    days = {k: (day - SPLIT_EPOCH).days for k, day in rows}
    assert days == {k: split_bucket(k, seed) for k in KEYS}


def test_an_integer_key_hashes_as_its_text() -> None:
    sql = Split().day_sql("k")
    ((day,),) = duckdb.sql(f"select {sql} from (select 123::bigint as k)").fetchall()
    assert (day - SPLIT_EPOCH).days == split_bucket("123", 13) == split_bucket(123, 13)


def test_the_parts_are_disjoint_and_near_their_shares() -> None:
    w = Split(10, 20).windows()
    day = {k: SPLIT_EPOCH + dt.timedelta(days=split_bucket(k, 13)) for k in KEYS}
    first, train_end = (dt.date.fromisoformat(w[k]) for k in ("train_start", "train_end"))
    holdout = dt.date.fromisoformat(w["holdout_start"])
    train = {k for k, d in day.items() if first <= d <= train_end}
    val = {k for k, d in day.items() if train_end < d < holdout}
    rest = {k for k, d in day.items() if d >= holdout}
    assert train | val | rest == set(KEYS) and not (train & val or val & rest or train & rest)
    assert abs(len(train) / len(KEYS) - 0.7) < 0.04
    assert abs(len(val) / len(KEYS) - 0.1) < 0.03
    assert (train_end - first).days + 1 + w["val_days"] + 20 == 100


def test_a_batch_too_small_is_judged_with_the_batches_before_it() -> None:
    frame = pl.DataFrame({"served_at": ["01"] * 30 + ["02"] * 40 + ["03"] * 20})
    rows, first = labelled_batches(frame, ["01", "02", "03"], min_rows=50)
    assert (rows.height, first) == (60, "02")
    rows, first = labelled_batches(frame, ["01", "02", "03"], min_rows=10)
    assert (rows.height, first) == (20, "03")
    rows, first = labelled_batches(frame, ["01", "02", "03"], min_rows=500)
    assert (rows.height, first) == (90, "01")
