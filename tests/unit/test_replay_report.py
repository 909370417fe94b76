"""The monitoring summary's text and plot: the spec's label and row floor, the model's name."""

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from factory_assets.lib.lake import connect
from factory_assets.lib.replay_report import Retrain, judged, plot, read_history, summary_text

DAYS = [dt.date(2024, 3, 1) + dt.timedelta(days=i) for i in range(3)]
PERFORMANCE = pl.DataFrame(
    {
        "day": DAYS,
        "rows": [40, 120, 300],
        "auc": [0.9, 0.7, float("nan")],  # the third day had one outcome only
        "positive_rate": [0.5, 0.25, 0.0],
    }
)
DRIFT = pl.DataFrame({"day": DAYS, "drifted_share": [0.1, 0.2, 0.7]})
RETRAINS = [Retrain("2024-03-03", "drift", "share 0.7", "success", "2", "promoted")]


@pytest.mark.parametrize(("min_rows", "days"), [(100, 1), (30, 2), (500, 0)])
def test_a_day_counts_from_the_spec_min_rows(min_rows: int, days: int) -> None:
    assert judged(PERFORMANCE, min_rows).height == days
    assert f"{days} with labelled predictions (at least {min_rows} rows)" in summary_text(
        PERFORMANCE, DRIFT, RETRAINS, "churned_next_4w", min_rows
    )


def test_the_text_names_the_spec_label() -> None:
    text = summary_text(PERFORMANCE, DRIFT, RETRAINS, "churned_next_4w", 30)
    assert "share of rows where churned_next_4w is true" in text
    assert "2024-03: AUC 0.800 (churned_next_4w 37.5%, 160 rows)" in text
    assert "2024-03-03: drift (share 0.7) → v2 promoted" in text
    for word in ("late", "flight", "year"):
        assert word not in text


def test_the_plot_is_titled_with_the_model_and_its_label(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from matplotlib.axes import Axes

    titles = []
    monkeypatch.setattr(Axes, "set_title", lambda self, title, *a, **k: titles.append(title))
    path = plot(PERFORMANCE, DRIFT, RETRAINS, tmp_path / "summary.png", "churn", "churned", 100)
    assert path.stat().st_size > 1000
    assert titles and titles[0].startswith("churn (churned): served AUC")


def test_history_before_any_judged_period_reads_as_no_days(tmp_path: Path) -> None:
    with connect(tmp_path / "warehouse.sqlite") as conn:
        conn.sql("create table m_drift as select date '2024-03-01' as day, 0.25 as drifted_share")
        performance, drift = read_history(conn, "m_performance", "m_drift")
        assert performance.height == 0 and judged(performance, 1).height == 0
        # a drift table written before calibrated thresholds reads them as NaN
        assert drift.select("day", "drifted_share").rows() == [(dt.date(2024, 3, 1), 0.25)]
        assert drift["drift_threshold"].is_nan().all()
        assert "0 with labelled predictions" in summary_text(performance, drift, [], "y", 1)
        assert plot(performance, drift, [], tmp_path / "first.png", "m", "y", 1).is_file()
        conn.sql(
            "create table m_performance as select * from (values "
            "(date '2024-03-01', 'm', 10, 0.75, 0.2, 0.5), "
            "(date '2024-03-01', 'm-a', 30, 0.25, 0.1, 0.1)) "
            "t(day, model_name, rows, auc, brier, positive_rate)"
        )
        performance, _ = read_history(conn, "m_performance", "m_drift")
    # a column the table lacks (log loss, written since) reads as NaN
    # (and so do the interval and the estimate before labels, recorded since)
    ((day, rows, auc, brier, log_loss, rate, *since),) = performance.rows()
    assert len(since) == 3 and all(v != v for v in since)
    assert (day, rows, auc, brier, rate) == (dt.date(2024, 3, 1), 40, 0.5, pytest.approx(0.15), 0.3)
    assert log_loss != log_loss


def test_the_plot_shows_the_interval_the_estimate_the_threshold_and_the_decisions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import matplotlib.pyplot as plt
    from matplotlib.collections import PolyCollection

    figures = []
    monkeypatch.setattr(plt, "close", figures.append)  # keep the figure to look at it
    performance = PERFORMANCE.with_columns(
        auc_low=pl.Series([0.8, 0.6, float("nan")]),
        auc_high=pl.Series([0.95, 0.8, float("nan")]),
        estimated_auc=pl.Series([0.85, 0.72, 0.7]),
    )
    drift = DRIFT.with_columns(
        drift_statistic=pl.Series([2.0, 3.0, 7.0]), drift_threshold=pl.Series([5.5, 5.5, 5.5])
    )
    retrains = [*RETRAINS, Retrain("2024-03-02", "perf", "AUC", "success", "3", "rejected")]
    plot(performance, drift, retrains, tmp_path / "p.png", "churn", "churned", 30, floor=0.6)
    top, bottom = figures[0].axes
    assert any(isinstance(c, PolyCollection) for c in top.collections)  # the interval
    labels = [line.get_label() for line in top.lines]
    assert "estimated before labels" in labels and "bound 0.6" in labels
    assert [line.get_ydata()[-1] for line in bottom.lines[:2]] == [7.0, 5.5]  # statistic, bar
    styles = sorted(line.get_linestyle() for line in bottom.lines[2:])  # the two retrains
    assert styles == ["-", "--"]  # promoted solid, rejected dashed
