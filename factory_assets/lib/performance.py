"""Served predictions judged once their labels have landed: a period's (batch's) verdict.

The ``<model>_prediction_performance`` station calls ``judge_period`` (or ``judge_batch``)
per partition; each returns (materialization metadata, passed, check metadata) as plain data
and writes the period's rows of the performance table.
"""

import datetime as dt

import numpy as np
import polars as pl

from factory_assets.lib.calendar import Period
from factory_assets.lib.model_line import ModelLine
from factory_assets.lib.performance_verdict import earlier_rows, verdicts
from factory_assets.lib.tasks import Task
from factory_assets.lib.warehouse import replace_partitions

# what a performance row holds besides the task's metrics, by task
EXTRAS: dict[str, tuple[str, ...]] = {
    "binary": ("positive_rate", "mean_prediction"),
    "regression": ("mean_label", "mean_prediction"),
    "multiclass": (),
}


def served(part: pl.DataFrame, task: Task) -> np.ndarray:
    """The served predictions of labelled rows as the task's metrics take them.

    binary: the probability [n]; regression: the value [n]; multiclass: every class's
    probability [n, k] (``probabilities``, in the classes' order).
    """
    if task.kind == "multiclass":
        k = len(task.classes)
        return np.asarray(part["probabilities"].to_list(), dtype=float).reshape(-1, k)
    return part[task.output_column].cast(pl.Float64).to_numpy()


def metric_columns(task: Task) -> tuple[str, ...]:
    """The performance table's metric columns of ``task``: its metrics, then its extras."""
    recalls = tuple(f"recall_{c}" for c in task.classes)
    return (*task.metric_names, *EXTRAS[task.kind], *recalls)


def day_rows(  # noqa: PLR0913
    frame: pl.DataFrame, day: dt.date, landed: dt.date, task: Task, periods: int = 1
) -> pl.DataFrame:
    """One row per serving model: labelled rows and the task's metrics of what it served.

    binary: AUC, Brier, log loss, positive rate, mean prediction; regression: RMSE, MAE, R²,
    mean label and prediction; multiclass: log loss, accuracy, macro-F1, recall per class.
    Each metric with its 98 % interval and standard error (``<metric>_low``, ``_high``,
    ``_se``), binary and multiclass with the estimate before labels (``estimated_<metric>``);
    ``periods``: how many periods the rows were pooled from.
    """
    from factory_assets.lib.performance_verdict import uncertainty_columns

    rows = []
    for (name,), part in sorted(frame.partition_by("model_name", as_dict=True).items()):
        y, pred = task.encode(part["label"]), served(part, task)
        m = task.metrics(y, pred)
        rows.append(
            {
                "day": day,
                "labels_landed_on": landed,
                "model_name": name,
                "rows": part.height,
                "periods": periods,
                **{column: float(m.get(column, np.nan)) for column in metric_columns(task)},
                **uncertainty_columns(y, pred, task, m),
                "model_version": ",".join(sorted(set(part["model_version"].to_list()))),
            }
        )
    return pl.DataFrame(rows) if rows else pl.DataFrame()


def labelled_window(
    frame: pl.DataFrame, line: ModelLine, period: Period, min_rows: int, window: int
) -> tuple[pl.DataFrame, Period]:
    """The labelled rows judged for ``period``: its own, or as many periods back as it takes.

    ``frame`` holds the labelled predictions of the ``window`` periods ending with ``period``
    (``served_at``); periods are added from the newest back until ``min_rows`` is reached.
    Returns the rows and the first period judged.
    """
    first = period
    for back in range(window):
        first = line.calendar.shift(period, -back)
        rows = frame.filter(pl.col("served_at") >= line.moment(first.start))
        if rows.height >= min_rows:
            return rows, first
    return frame, first


def judge_period(key: str, line: ModelLine, config, duckdb) -> tuple:  # noqa: ANN001
    """Partition ``key`` judges the period whose labels it brings: (metadata, passed, check)."""
    landed = line.calendar.period(key)
    period = line.labelled_period(landed)
    oldest = line.calendar.shift(period, -(config.window - 1))
    with duckdb.get_connection() as conn:
        frame = conn.sql(line.labelled_predictions_sql(), params=line.bounds([oldest, period])).pl()
        frame, first = labelled_window(frame, line, period, config.min_rows, config.window)
        day = line.moment(period.start)
        pooled = len(line.calendar.between(first, period))
        table = day_rows(frame, day, line.moment(landed.start), line.task, pooled)
        history = earlier_rows(conn, line, day)
        if table.height:
            table = table.with_columns(pl.lit(first.key).alias("judged_from"))
            replace_partitions(conn, [(line.performance_table, table)], "day", [day])
    judged = (line.columns.date, period.key)
    return _outcome(table, history, frame, line, config, judged, first.key)


def judge_batch(landed: str, batches: list[str], line: ModelLine, config, duckdb) -> tuple:  # noqa: ANN001
    """Batch ``landed`` judges the batch ``label_lag`` before it: (metadata, passed, check).

    Up to ``window - 1`` batches before that are judged with it while it has under ``min_rows``.
    """
    judged = line.judged_batches(batches, landed, config.window)
    if not judged:
        detail = f"no batch {line.label_lag} batch(es) before {landed}: nothing to judge"
        verdict = {"day": "(none)", "judged_from": "(none)", "evaluated": False}
        return {"labelled_rows": 0}, True, {**verdict, "detail": detail, "failed_models": "(none)"}
    batch = judged[-1]
    with duckdb.get_connection() as conn:
        frame = conn.sql(line.labelled_predictions_sql(), params=line.params(judged)).pl()
        frame, first = labelled_batches(frame, judged, config.min_rows)
        pooled = len(judged) - judged.index(first)
        table = day_rows(frame, batch, landed, line.task, pooled)
        history = earlier_rows(conn, line, batch)
        if table.height:
            table = table.with_columns(pl.lit(first).alias("judged_from"))
            replace_partitions(conn, [(line.performance_table, table)], "day", [batch])
    return _outcome(table, history, frame, line, config, ("batch", batch), first)


def labelled_batches(frame: pl.DataFrame, judged: list[str], min_rows: int) -> tuple:
    """The labelled rows judged: the newest batch's, or as many batches back as it takes.

    ``frame`` holds the labelled predictions of the ``judged`` batches (oldest first, by
    ``served_at``). Returns the rows and the first batch judged.
    """
    for back in range(1, len(judged) + 1):
        rows = frame.filter(pl.col("served_at").is_in(judged[-back:]))
        if rows.height >= min_rows:
            return rows, judged[-back]
    return frame, judged[0]


def _outcome(table, history, frame, line, config, judged: tuple[str, str], first: str) -> tuple:  # noqa: ANN001, PLR0913
    """(metadata, passed, check metadata) of a judged period or batch ``judged`` (name, key)."""
    judged_verdicts, failed, failed_by = verdicts(table, history, config, line)
    first_row = table.row(0, named=True) if table.height else {}
    # the task's metrics of the first serving model (the only one, unless segmented), each
    # with its interval, and the estimate before labels beside them
    metrics = {
        k: v
        for k, v in first_row.items()
        if k in line.task.metric_names
        or k.startswith("estimated_")
        or k.endswith(("_low", "_high"))
    } or {m: float("nan") for m in line.task.metric_names}
    metadata = {
        judged[0]: judged[1],  # the period (batch) whose rows were served and are judged
        "judged_from": first,
        "labelled_rows": frame.height,
        **metrics,
        "models": ", ".join(table["model_name"].to_list()) if table.height else "(none)",
        "model_version": first_row.get("model_version", "(none served)"),
    }
    detail = "; ".join(failed) or (
        f"{len(judged_verdicts)} model(s) meet the bounds (interval and sequential test)"
        if judged_verdicts
        else f"only {frame.height} labelled predictions: not evaluated"
    )
    verdict = {
        "day": judged[1],
        "judged_from": first,
        "evaluated": bool(judged_verdicts),
        "detail": detail,
        "failed_models": ", ".join(f.split(":")[0] for f in failed) or "(none)",
        "failed_by": ", ".join(failed_by) or "(none)",
        "alpha": config.alpha,
        **metrics,
    }
    return metadata, not failed, verdict
