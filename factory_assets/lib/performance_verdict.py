"""A period's performance verdict with its uncertainty: an interval, and a sequential test.

A model fails a period when the 98 % interval of a bounded metric lies entirely past its bound
(below a floor, above a ceiling), or when the anytime-valid sequential test over the periods
its version has served so far rejects "it meets the bound" (lib/uncertainty.py: one-sided
normal-mixture e-process, at level ``alpha`` split evenly over the bounded metrics). Periods
pooled into a window (under ``min_rows``) enter the test only where they do not overlap a
window already counted.
"""

import numpy as np
import polars as pl

from factory_assets.lib.estimate import estimate
from factory_assets.lib.model_line import ModelLine
from factory_assets.lib.tasks import HIGHER_IS_BETTER, Task, metric_label
from factory_assets.lib.uncertainty import e_value, interval, interval_fails, shortfall
from factory_assets.lib.warehouse import table_exists


def uncertainty_columns(y: np.ndarray, pred: np.ndarray, task: Task, metrics: dict) -> dict:
    """Each of the task's metrics' interval and standard error, and the estimate before labels."""
    out = {}
    for metric in task.metric_names:
        value = float(metrics.get(metric, np.nan))
        out |= interval(metric, value, y, pred, task)
    return out | estimate(task.kind, pred)


def earlier_rows(conn, line: ModelLine, day: object) -> pl.DataFrame:  # noqa: ANN001
    """The performance table's rows before ``day`` (empty before the first)."""
    if not table_exists(conn, line.performance_table):
        return pl.DataFrame()
    return conn.sql(
        f"select * from {line.performance_table} where day < ? order by day", params=[day]
    ).pl()


def _stream(history: pl.DataFrame, row: dict) -> list[dict]:
    """The periods of ``row``'s model version so far (``row`` last), without overlapping windows."""
    rows = []
    if history.height and "periods" in history.columns:
        same = history.filter(
            (pl.col("model_name") == row["model_name"])
            & (pl.col("model_version") == row["model_version"])
        )
        rows = list(same.iter_rows(named=True))
    rows.append(row)
    kept, since = [], None
    for position, r in enumerate(rows):
        pooled = int(r.get("periods") or 1)
        if since is None or position - since >= pooled:
            kept.append(r)
            since = position
    return kept


def judge_row(row: dict, history: pl.DataFrame, floors: dict, alpha: float) -> list[str]:
    """Why ``row`` fails (empty: it passes): per bounded metric, the interval or the sequence."""
    reasons = []
    stream = _stream(history, row)
    for metric, bound in floors.items():
        value, low, high = row[metric], row.get(f"{metric}_low"), row.get(f"{metric}_high")
        side = "floor" if HIGHER_IS_BETTER[metric] else "ceiling"
        label = f"{metric_label(metric)} {value:.3f}"
        if low is not None and high is not None and np.isfinite(low) and np.isfinite(high):
            label += f" [{low:.3f}, {high:.3f}]"
            if interval_fails(metric, low, high, bound):
                reasons.append(f"{label} past the {side} {bound} (interval)")
                continue
        z = [shortfall(metric, r[metric], r.get(f"{metric}_se") or np.nan, bound) for r in stream]
        e = e_value(z)
        if e >= len(floors) / alpha:
            reasons.append(
                f"{label}: the {side} {bound} rejected over {len(stream)} period(s) "
                f"(sequential, e-value {e:.1f} >= {len(floors) / alpha:.0f})"
            )
    return reasons


def verdicts(table: pl.DataFrame, history: pl.DataFrame, config, line: ModelLine) -> tuple:  # noqa: ANN001
    """(judged model names, failed details, what failed them) against ``config.floors``.

    Models under ``min_rows`` are not judged, nor a model whose metrics are undefined on the
    rows (NaN: one outcome only).
    """
    judged, failed, failed_by = [], [], set()
    for row in table.iter_rows(named=True) if table.height else []:
        own = line.owns(row["model_name"])
        undefined = any(row[m] != row[m] for m in config.floors)  # NaN: e.g. one class only
        if not own or row["rows"] < config.min_rows or undefined:
            continue
        judged.append(row["model_name"])
        reasons = judge_row(row, history, config.floors, config.alpha)
        if reasons:
            failed.append(f"{row['model_name']}: " + "; ".join(reasons))
            failed_by |= {r.rsplit("(", 1)[-1].split(",")[0].rstrip(")") for r in reasons}
    return judged, failed, sorted(failed_by)
