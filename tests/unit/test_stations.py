"""The model line's station logic in lib/: fallbacks, the drift table, served performance."""

import datetime as dt
from pathlib import Path
from types import SimpleNamespace

import polars as pl
import pytest

from factory_assets.lib.calendar import Calendar
from factory_assets.lib.drift_period import DriftError, drift_markdown, judge_drift
from factory_assets.lib.holdout import holdout_fallback
from factory_assets.lib.lake import connect
from factory_assets.lib.model_line import ModelLine, Segments
from factory_assets.lib.performance import day_rows, labelled_window, verdicts
from factory_assets.lib.registration import fallback_reason
from factory_assets.lib.tasks import Task
from factory_assets.lib.training.dataset import ModelColumns
from factory_assets.lib.training.segment import segment_fallback
from factory_assets.lib.training.train import TrainConfig
from factory_assets.lib.warehouse import table_exists
from factory_assets.resources import Warehouse

D = dt.date(2024, 3, 1)
LINE = ModelLine(
    name="m",
    features="t",
    columns=ModelColumns("id", "day", "y", (), ("x",)),
    segments=Segments("carrier", ("AA", "UA"), min_rows=3, fallback="m"),
    calendar=Calendar("daily", dt.datetime(2024, 1, 1)),
)
CFG = TrainConfig(train_start="2024-03-01", train_end="2024-03-03", val_days=1)


def _rows(days: list[int], labels: list[bool]) -> pl.DataFrame:
    return pl.DataFrame({"day": [D + dt.timedelta(days=d) for d in days], "y": labels})


@pytest.mark.parametrize(
    ("frame", "rows", "reason"),
    [
        (_rows([0, 1, 3], [True, False, True]), 2, "2 training rows < 3"),
        (_rows([0, 1, 2, 3], [True] * 4), 3, "the 3 training rows are all of one class"),
        (_rows([0, 1, 2], [True, False, True]), 3, "no labelled rows in the validation window"),
        (_rows([0, 1, 2, 3], [True, False, True, False]), 3, ""),
    ],
)
def test_a_segment_trains_only_with_rows_of_both_classes_and_validation(
    frame: pl.DataFrame, rows: int, reason: str
) -> None:
    got_rows, got_reason = segment_fallback(frame, CFG, LINE)
    assert got_rows == rows and got_reason.startswith(reason) and bool(got_reason) == bool(reason)


@pytest.mark.parametrize(
    ("labels", "reason"),
    [
        ([], "0 labelled rows (fewest 1)"),
        ([True, True], "2 labelled rows, all of one class (2 positive)"),
        ([True, False], None),
    ],
)
def test_a_holdout_judges_a_model_only_with_both_classes(labels: list, reason: str | None) -> None:
    got = holdout_fallback(pl.DataFrame({"y": labels}, schema={"y": pl.Boolean}), LINE)
    assert got == (reason and f"the holdout window's column 'y' cannot judge: {reason}")


def test_a_package_falls_back_with_the_reason_of_the_station_that_did() -> None:
    trained = {"run_id": "r", "train_rows": 9}
    assert fallback_reason(LINE, trained, {"metrics": {}}) is None
    assert fallback_reason(LINE, trained, {"reason": "one class"}) == "one class"
    assert fallback_reason(LINE, {"train_rows": 2, "reason": "few"}, {}) == "few"
    assert fallback_reason(LINE, {"train_rows": 2}, {}) == "2 training rows < 3"


def test_the_drift_table_shows_the_most_drifted_first_and_says_what_it_left_out() -> None:
    table = pl.DataFrame(
        {
            "model_name": ["m", "m", "m"],
            "column_name": ["a", "b|c", "prediction"],
            "method": ["wasserstein"] * 3,
            "score": [0.1, 0.9, None],
            "drifted": [False, True, False],
        }
    )
    lines = drift_markdown(table, max_rows=2).splitlines()
    assert lines[0] == "| model | column | method | score | drifted |"
    assert lines[2] == "| m | b\\|c | wasserstein | 0.900 | **yes** |"
    assert lines[3].startswith("| m | a |") and lines[-1] == "_1 more rows not shown._"
    assert "| prediction | wasserstein | – | no |" in drift_markdown(table)


def test_a_period_with_no_rows_has_nothing_to_judge_and_one_never_scored_fails(
    tmp_path: Path,
) -> None:
    line = ModelLine(
        name="m",
        features="t",
        columns=ModelColumns("id", "day", "y", (), ("x",)),
        calendar=Calendar("daily", dt.datetime(2024, 1, 1)),
    )
    store = Warehouse(catalog=str(tmp_path / "w.sqlite"))
    with store.get_connection() as conn:
        conn.sql("create table t as select 1 as id, date '2024-03-01' as day, 0.5 as x, true as y")
    with pytest.raises(DriftError, match="no table m_predictions yet: materialize m_predictions"):
        judge_drift("2024-03-01", line, None, store, None, None)
    with store.get_connection() as conn:
        conn.sql("create table m_predictions (id int, day date, probability float, "
                 "model_name varchar, model_version varchar)")  # fmt: skip
    config = SimpleNamespace(window=1, floors={})
    metadata, passed, verdict = judge_drift("2024-03-02", line, config, store, None, None)
    assert passed and verdict["evaluated"] is False and "nothing to judge" in metadata["detail"]
    with pytest.raises(DriftError, match="none of the 1 rows of t in 2024-03-01 scored"):
        judge_drift("2024-03-01", line, config, store, None, None)


def test_a_window_is_read_once_with_its_period_and_not_without_it(tmp_path: Path) -> None:
    from factory_assets.lib.drift_period import _scored

    line = ModelLine(
        name="m",
        features="t",
        columns=ModelColumns("id", "day", "y", (), ("x",)),
        calendar=Calendar("daily", dt.datetime(2024, 1, 1)),
    )
    with connect(tmp_path / "w.sqlite") as conn:
        conn.sql("create table t as select * from (values (1, date '2024-03-01', 0.5, true), "
                 "(2, date '2024-03-02', 0.7, false), (3, date '2024-03-04', 0.1, true)) "
                 "v(id, day, x, y)")  # fmt: skip
        conn.sql("create table m_predictions as select id, day, 0.4 as probability, "
                 "'m' as model_name, '1' as model_version from t where id < 3")  # fmt: skip
        window = SimpleNamespace(window=2)
        scored, keys = _scored(conn, "2024-03-02", line, window, None)
        assert keys == ["2024-03-01", "2024-03-02"]
        assert sorted(scored["id"].to_list()) == [1, 2] and "__of_key" not in scored.columns
        assert set(scored.columns) >= {"x", "prediction", "model_name", "model_version"}
        scored, _ = _scored(conn, "2024-03-03", line, window, None)  # no rows of its own
        assert scored.height == 0
        with pytest.raises(DriftError, match="none of the 1 rows of t in 2024-03-04 scored"):
            _scored(conn, "2024-03-04", line, window, None)


def test_table_exists_sees_tables_and_views_of_the_schema(tmp_path: Path) -> None:
    with connect(tmp_path / "w.sqlite") as conn:
        assert not table_exists(conn, "t")
        conn.sql("create table t as select 1 as a")
        conn.sql("create view v as select * from t")
        assert table_exists(conn, "t") and table_exists(conn, "v")


def _served(probabilities: list[float], labels: list[bool], names: list[str]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "served_at": [D] * len(labels),
            "probability": probabilities,
            "label": labels,
            "model_name": names,
            "model_version": ["1"] * len(labels),
        }
    )


def test_served_performance_judges_owned_models_with_enough_rows_of_both_classes() -> None:
    frame = _served(
        [0.9, 0.1, 0.8, 0.2, 0.2, 0.8, 0.6, 0.6],
        [True, False, False, True, True, False, True, True],
        ["m"] * 2 + ["m-AA"] * 4 + ["other"] * 2,
    )
    table = day_rows(frame, D, D + dt.timedelta(days=1), Task())
    assert table["model_name"].to_list() == ["m", "m-AA", "other"]
    assert table["auc"].to_list()[:2] == [1.0, 0.0]
    config = SimpleNamespace(min_rows=3, floors={"auc": 0.5, "brier": 0.5}, alpha=0.05)
    judged, failed, failed_by = verdicts(table, pl.DataFrame(), config, LINE)
    # m has 2 rows (< min_rows), other is not this line's, other has one class anyway
    assert judged == ["m-AA"] and failed[0].startswith("m-AA: AUC 0.000"), failed
    assert "floor 0.5" in failed[0] and failed_by, failed


def test_a_period_short_of_rows_is_judged_with_the_periods_before_it() -> None:
    line = ModelLine(
        name="m",
        features="t",
        columns=ModelColumns("id", "day", "y", (), ("x",)),
        calendar=Calendar("daily", dt.datetime(2024, 1, 1)),
    )
    days = [D - dt.timedelta(days=2), D - dt.timedelta(days=1), D, D]
    frame = pl.DataFrame({"served_at": days, "label": [True, False, True, False]})
    period = line.calendar.period_of(D)
    rows, first = labelled_window(frame, line, period, min_rows=3, window=3)
    assert rows.height == 3 and first.key == "2024-02-29"
    rows, first = labelled_window(frame, line, period, min_rows=2, window=3)
    assert rows.height == 2 and first.key == "2024-03-01"
