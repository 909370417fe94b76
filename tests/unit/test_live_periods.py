"""The live holdout's periods for weekly and batched lines, on a real DuckLake."""

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from factory_assets.lib import live_holdout as lh
from factory_assets.lib.calendar import Calendar
from factory_assets.lib.lake import connect
from factory_assets.lib.model_line import ModelLine, Split, split_bucket
from factory_assets.lib.tasks import Task
from factory_assets.lib.training.dataset import ModelColumns

COLUMNS = ModelColumns("id", "day", "label", (), ("x",))


def _weekly() -> ModelLine:
    calendar = Calendar("weekly", dt.datetime(2024, 1, 1))  # Mondays
    return ModelLine("w", "feats", COLUMNS, calendar=calendar, label_lag=1)


def test_days_group_into_weeks_and_a_week_touching_training_is_left_out() -> None:
    line = _weekly()
    days = [(dt.date(2024, 1, 1) + dt.timedelta(days=d), 5) for d in range(35)]  # 5 weeks
    chosen = lh.choose_periods(days, line, 14, [])
    # the newest week's labels land a week later (label_lag 1): never read early
    assert list(chosen) == ["2024-01-01", "2024-01-08", "2024-01-15", "2024-01-22"]
    assert len(chosen["2024-01-08"]) == 7
    # validation ended on a Wednesday: its whole week is out, the week after it in
    cut = lh.choose_periods(days, line, 14, [("2023-10-01", "2024-01-17")])
    assert list(cut) == ["2024-01-22"]
    assert list(lh.choose_periods(days, line, 1, [])) == ["2024-01-22"]
    unlabelled = [(d, 0 if d >= dt.date(2024, 1, 22) else n) for d, n in days]
    assert list(lh.choose_periods(unlabelled, line, 1, [])) == ["2024-01-15"]


@pytest.fixture
def batched(tmp_path: Path) -> Iterator[tuple]:
    """A batched line (key-hash split) with 4 served batches of 200 keys each."""
    split = Split(val=15, holdout=15, seed=13)
    line = ModelLine("b", "feats", ModelColumns("id", "_split_day", "label", (), ("x",)),
                     batches="b_batches", split=split, label_lag=1)  # fmt: skip
    with connect(tmp_path / "w.sqlite") as conn:
        conn.execute("create table feats as select i as id, 'b' || (i // 200) as _batch, "
                     "i * 0.1 as x, (i % 3 = 0) as label from range(800) t(i)")  # fmt: skip
        conn.execute("create table b_predictions as select id, _batch, 0.5::float as "
                     "probability, 'b' as model_name, '1' as model_version from feats")  # fmt: skip
        yield line, conn, split


def test_a_batched_line_keeps_only_the_holdout_keys_of_its_newest_labelled_batches(batched) -> None:  # noqa: ANN001
    line, conn, split = batched
    w = split.windows()
    val_end = dt.date.fromisoformat(w["train_end"]) + dt.timedelta(days=w["val_days"])
    live = lh.live_rows(conn, line, None, 2, [(w["train_start"], val_end.isoformat())])
    assert live.periods == ["b1", "b2"]  # b3's labels land with the next batch
    holdout = {i for i in range(200, 600) if split_bucket(i, split.seed) >= 85}
    assert set(live.rows["id"].to_list()) == holdout and 40 < len(holdout) < 100
    assert lh.served_predictions(live.rows, line).tolist() == [0.5] * len(holdout)
    assert lh.described(live) == {"first": "b1", "last": "b2", "periods": 2, "rows": len(holdout)}
    none = lh.live_rows(conn, line, None, 2, [("2000-01-01", "2000-12-31")])
    assert none.periods == [] and "training or validation" in none.why_none


def test_a_segment_is_judged_on_its_own_rows_only(tmp_path: Path) -> None:
    from factory_assets.lib.model_line import Segments

    calendar = Calendar("daily", dt.datetime(2024, 1, 1))
    columns = ModelColumns("id", "day", "riders", ("station",), ("x",))
    line = ModelLine("r", "feats", columns, calendar=calendar,
                     segments=Segments("station", ("a", "b"), 10, "r_all"),
                     task=Task("regression"))  # fmt: skip
    with connect(tmp_path / "w.sqlite") as conn:
        conn.execute("create table feats as select i as id, date '2024-01-01' + (i // 20)::int "
                     "as day, if(i % 2 = 0, 'a', 'b') as station, i * 0.1 as x, i * 1.0 as "
                     "riders from range(100) t(i)")  # fmt: skip
        conn.execute("create table r_predictions as select id, day, day as _partition_date, "
                     "1.0 as prediction, 'r-' || station as model_name, '1' as model_version "
                     "from feats")  # fmt: skip
        live = lh.live_rows(conn, line, "a", 2, [("2023-01-01", "2024-01-01")])
    assert live.periods == ["2024-01-04", "2024-01-05"]  # label_lag 0: the newest day too
    assert set(live.rows["station"].to_list()) == {"a"} and live.rows.height == 20
    assert set(live.rows[f"{lh.SERVED_PREFIX}model_name"].to_list()) == {"r-a"}
