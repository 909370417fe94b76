"""The monitoring story of a model over time: a text summary and a PNG plot."""

from dataclasses import dataclass
from pathlib import Path

import polars as pl

from factory_assets.lib.tasks import Task, metric_label
from factory_assets.lib.warehouse import table_exists

BINARY = Task()


@dataclass(frozen=True)
class Retrain:
    """One retrain the sensor started, and what the gate made of it."""

    day: str
    trigger: str
    detail: str
    status: str
    version: str | None
    decision: str | None  # "promoted" / "rejected" / None when no package was registered


def history_columns(task: Task) -> tuple[str, ...]:
    """The performance columns the summary reads: the task's metrics (binary: positive rate)."""
    return (*task.metric_names, *(("positive_rate",) if task.kind == "binary" else ()))


def read_history(conn, performance_table: str, drift_table: str, task: Task = BINARY) -> tuple:  # noqa: ANN001
    """Per day: the served metrics of ``task`` (rows summed), and the largest drifted share.

    binary: AUC, Brier, log loss and positive rate; regression: RMSE, MAE, R²; multiclass: log
    loss, accuracy, macro-F1 (each the mean over the models serving that day). A table not
    written yet (no period judged: labels land after serving, and a line's first periods have
    none) reads as no days. Returns (performance, drift) frames.
    """
    p = task.primary  # with its interval and its estimate before labels, where recorded
    columns = [*history_columns(task), f"{p}_low", f"{p}_high", f"estimated_{p}"]
    performance = pl.DataFrame(
        schema={"day": pl.Date, "rows": pl.Int64, **dict.fromkeys(columns, pl.Float64)}
    )
    calibrated = ("drift_statistic", "drift_threshold")
    schema = {"day": pl.Date, "drifted_share": pl.Float64, **dict.fromkeys(calibrated, pl.Float64)}
    drift = pl.DataFrame(schema=schema)
    if table_exists(conn, performance_table):
        present = {row[0] for row in conn.sql(f"describe {performance_table}").fetchall()}
        means = ", ".join(
            f"avg({c}) as {c}" if c in present else f"cast('nan' as double) as {c}" for c in columns
        )
        performance = conn.sql(
            f"select day, sum(rows) as rows, {means} from {performance_table} "
            "group by day order by day"
        ).pl()
    if table_exists(conn, drift_table):
        present = {row[0] for row in conn.sql(f"describe {drift_table}").fetchall()}
        extra = "".join(
            f", max({c}) as {c}" if c in present else f", cast('nan' as double) as {c}"
            for c in calibrated
        )
        drift = conn.sql(
            f"select day, max(drifted_share) as drifted_share{extra} from {drift_table} "
            "group by day order by day"
        ).pl()
    return performance, drift


def judged(performance: pl.DataFrame, min_rows: int, metric: str = "auc") -> pl.DataFrame:
    """Days with at least ``min_rows`` labelled predictions and a defined ``metric``.

    ``min_rows`` is the spec's ``monitoring.performance.min_rows``, the floor under which the
    performance check does not judge a day either; ``metric`` is the task's primary (AUC is
    undefined on a day with one outcome, R² on one with one value).
    """
    return performance.filter(pl.col("rows") >= min_rows, pl.col(metric).is_not_nan())


def _monthly_lines(monthly: pl.DataFrame, task: Task, label: str) -> list[str]:
    """One line per month (batch): the primary metric, then the others (binary: the rate)."""
    primary = task.primary
    lines = []
    for m in monthly.iter_rows(named=True):
        if task.kind == "binary":
            detail = f"{label} {m['positive_rate']:.1%}"
        else:
            others = [c for c in task.metric_names if c != primary and c in m]
            detail = ", ".join(f"{metric_label(c)} {m[c]:.3f}" for c in others)
        lines.append(
            f"  {m['month']}: {metric_label(primary)} {m[primary]:.3f} ({detail}, {m['rows']} rows)"
        )
    return lines


def summary_text(
    performance: pl.DataFrame,
    drift: pl.DataFrame,
    retrains: list[Retrain],
    label: str,
    min_rows: int,
    task: Task = BINARY,
) -> str:
    """Days, retrains and why, promotions vs rejections, the served primary metric by month.

    Args:
        performance: per day: rows and the task's metrics (``read_history``).
        drift: per day: drifted_share.
        retrains: the retrains the sensor started, oldest first.
        label: the spec's label column, named in the text.
        min_rows: labelled predictions a day needs to count (see ``judged``).
        task: the model's task: its primary metric is reported (binary: AUC and the share of
            rows whose label is true; regression: RMSE; multiclass: log loss), the others beside.
    """
    primary, name = task.primary, metric_label(task.primary)
    evaluated = judged(performance, min_rows, primary)
    promoted = sum(r.decision == "promoted" for r in retrains)
    rejected = sum(r.decision == "rejected" for r in retrains)
    lines = [
        f"days monitored: {drift.height} (drift), {evaluated.height} with labelled predictions "
        f"(at least {min_rows} rows)",
        f"retrains triggered: {len(retrains)} — promoted {promoted}, rejected {rejected}, "
        f"without a package {len(retrains) - promoted - rejected}",
    ]
    lines += [
        f"  {r.day}: {r.trigger} ({r.detail}) → v{r.version or '-'} {r.decision or r.status}"
        for r in retrains
    ]
    if evaluated.height:
        dated = evaluated.schema["day"].is_temporal()  # else batch keys: one line per batch
        month = pl.col("day").dt.strftime("%Y-%m") if dated else pl.col("day")
        monthly = (
            evaluated.group_by(month.alias("month"))
            .agg(
                pl.col([c for c in history_columns(task) if c in evaluated.columns]).mean(),
                pl.col("rows").sum(),
            )
            .sort("month")
        )
        beside = (
            f"share of rows where {label} is true"
            if task.kind == "binary"
            else ", ".join(metric_label(c) for c in task.metric_names if c != primary)
        )
        lines.append(
            f"daily {name} of served predictions, monthly mean ({beside}):"
            if dated
            else f"{name} of served predictions per batch ({beside}):"
        )
        lines += _monthly_lines(monthly, task, label)
        values = evaluated[primary]
        lines.append(
            f"  all days: {name} mean {values.mean():.3f}, min {values.min():.3f}, "
            f"max {values.max():.3f}"
        )
    return "\n".join(lines)


def plot(
    performance: pl.DataFrame,
    drift: pl.DataFrame,
    retrains: list[Retrain],
    path: Path,
    model: str,
    label: str,
    min_rows: int,
    task: Task = BINARY,
    floor: float | None = None,
) -> Path:
    """The served metric with its interval and estimate, drift against its calibrated threshold.

    Retrains are marked (promoted solid, rejected dashed); ``floor``, the performance check's
    bound on the primary metric, is drawn where given.

    The title names the ``model`` and its ``label``; days count as in ``summary_text``.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (top, bottom) = plt.subplots(2, 1, figsize=(11, 6), sharex=True)
    primary, name = task.primary, metric_label(task.primary)
    evaluated = judged(performance, min_rows, primary).sort("day")
    days = evaluated["day"].to_list()
    top.plot(days, evaluated[primary].to_list(), lw=1, color="tab:blue", label=f"{name} (labels)")
    if f"{primary}_low" in evaluated.columns:  # the verdict's 98 % interval, the estimate
        low, high = (evaluated[f"{primary}_{s}"].fill_nan(None) for s in ("low", "high"))
        top.fill_between(days, low.to_list(), high.to_list(), color="tab:blue", alpha=0.2)
        estimate = evaluated[f"estimated_{primary}"].fill_nan(None).to_list()
        top.plot(days, estimate, lw=1, ls=":", color="tab:green", label="estimated before labels")
    if floor is not None:
        top.axhline(floor, color="black", lw=0.8, ls="--", label=f"bound {floor}")
    top.set_ylabel(f"daily {name} (served)")
    top.legend(loc="lower left", fontsize=7)
    shares = drift.sort("day")
    if "drift_statistic" in shares.columns and shares["drift_statistic"].is_not_nan().any():
        on = shares.filter(pl.col("drift_statistic").is_not_nan())
        bottom.plot(on["day"].to_list(), on["drift_statistic"].to_list(), color="tab:orange")
        bottom.step(on["day"].to_list(), on["drift_threshold"].to_list(), where="post",
                    color="black", lw=0.8, ls="--")  # fmt: skip
        bottom.set_ylabel("drift (window statistic)\n-- calibrated threshold")
    else:
        bottom.plot(shares["day"].to_list(), shares["drifted_share"].to_list(), color="tab:orange")
        bottom.set_ylabel("drifted share")
    dated = drift.schema["day"].is_temporal() if drift.height else True
    for r in retrains:
        style = "-" if r.decision == "promoted" else "--"
        when = pl.Series([r.day]).str.to_date()[0] if dated else r.day  # a batch's key
        for axis in (top, bottom):
            axis.axvline(when, color="tab:red", ls=style, lw=0.8)
    top.set_title(
        f"{model} ({label}): served {name} (98 % interval shaded) and input drift; "
        "retrains in red (solid = promoted, dashed = rejected)"
    )
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp.png")
    fig.savefig(tmp, dpi=90)
    plt.close(fig)
    tmp.replace(path)
    return path
