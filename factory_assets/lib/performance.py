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


def day_rows(frame: pl.DataFrame, day: dt.date, landed: dt.date, task: Task) -> pl.DataFrame:
    """One row per serving model: labelled rows and the task's metrics of what it served.

    binary: AUC, Brier, log loss, positive rate, mean prediction; regression: RMSE, MAE, R²,
    mean label and prediction; multiclass: log loss, accuracy, macro-F1, recall per class.
    """
    rows = []
    for (name,), part in sorted(frame.partition_by("model_name", as_dict=True).items()):
        m = task.metrics(task.encode(part["label"]), served(part, task))
        rows.append(
            {
                "day": day,
                "labels_landed_on": landed,
                "model_name": name,
                "rows": part.height,
                **{column: float(m.get(column, np.nan)) for column in metric_columns(task)},
                "model_version": ",".join(sorted(set(part["model_version"].to_list()))),
            }
        )
    return pl.DataFrame(rows) if rows else pl.DataFrame()


def verdicts(table: pl.DataFrame, config, line: ModelLine) -> tuple[list, list]:  # noqa: ANN001
    """(judged model names, failed details) against ``config.floors`` (metric -> bound).

    Models under ``min_rows`` are not judged, nor a model whose metrics are undefined on the
    rows (NaN: one outcome only).
    """
    from factory_assets.lib.tasks import HIGHER_IS_BETTER, metric_label

    judged, failed = [], []
    for row in table.iter_rows(named=True) if table.height else []:
        own = line.owns(row["model_name"])
        undefined = any(row[m] != row[m] for m in config.floors)  # NaN: e.g. one class only
        if not own or row["rows"] < config.min_rows or undefined:
            continue
        judged.append(row["model_name"])
        bounds = {m: (row[m], b, HIGHER_IS_BETTER[m]) for m, b in config.floors.items()}
        if any(not (v >= b if up else v <= b) for v, b, up in bounds.values()):
            failed.append(
                f"{row['model_name']}: "
                + ", ".join(
                    f"{metric_label(m)} {v:.3f} ({'floor' if up else 'ceiling'} {b})"
                    for m, (v, b, up) in bounds.items()
                )
            )
    return judged, failed


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
        table = day_rows(frame, day, line.moment(landed.start), line.task)
        if table.height:
            table = table.with_columns(pl.lit(first.key).alias("judged_from"))
            replace_partitions(conn, [(line.performance_table, table)], "day", [day])
    return _outcome(table, frame, line, config, (line.columns.date, period.key), first.key)


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
        table = day_rows(frame, batch, landed, line.task)
        if table.height:
            table = table.with_columns(pl.lit(first).alias("judged_from"))
            replace_partitions(conn, [(line.performance_table, table)], "day", [batch])
    return _outcome(table, frame, line, config, ("batch", batch), first)


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


def _outcome(table, frame, line, config, judged: tuple[str, str], first: str) -> tuple:  # noqa: ANN001
    """(metadata, passed, check metadata) of a judged period or batch ``judged`` (name, key)."""
    judged_verdicts, failed = verdicts(table, config, line)
    first_row = table.row(0, named=True) if table.height else {}
    # the task's metrics of the first serving model (the only one, unless segmented)
    metrics = {m: first_row.get(m, float("nan")) for m in line.task.metric_names}
    metadata = {
        judged[0]: judged[1],  # the period (batch) whose rows were served and are judged
        "judged_from": first,
        "labelled_rows": frame.height,
        **metrics,
        "models": ", ".join(table["model_name"].to_list()) if table.height else "(none)",
        "model_version": first_row.get("model_version", "(none served)"),
    }
    detail = "; ".join(failed) or (
        f"{len(judged_verdicts)} model(s) above the floor"
        if judged_verdicts
        else f"only {frame.height} labelled predictions: not evaluated"
    )
    verdict = {
        "day": judged[1],
        "judged_from": first,
        "evaluated": bool(judged_verdicts),
        "detail": detail,
        "failed_models": ", ".join(f.split(":")[0] for f in failed) or "(none)",
        **metrics,
    }
    return metadata, not failed, verdict
