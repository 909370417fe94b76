"""The monitoring story of a model over time: a text summary and a PNG plot."""

from dataclasses import dataclass
from pathlib import Path

import polars as pl

from factory_assets.lib.warehouse import table_exists


@dataclass(frozen=True)
class Retrain:
    """One retrain the sensor started, and what the gate made of it."""

    day: str
    trigger: str
    detail: str
    status: str
    version: str | None
    decision: str | None  # "promoted" / "rejected" / None when no package was registered


def read_history(conn, performance_table: str, drift_table: str) -> tuple:  # noqa: ANN001
    """Per day: served AUC, Brier and positive rate (rows summed), and the largest drifted share.

    A table not written yet (no period judged: labels land after serving, and a line's first
    periods have none) reads as no days. Returns (performance, drift) frames.
    """
    performance = pl.DataFrame(
        schema={
            "day": pl.Date,
            "rows": pl.Int64,
            "auc": pl.Float64,
            "brier": pl.Float64,
            "positive_rate": pl.Float64,
        }
    )
    drift = pl.DataFrame(schema={"day": pl.Date, "drifted_share": pl.Float64})
    if table_exists(conn, performance_table):
        performance = conn.sql(
            f"select day, sum(rows) as rows, avg(auc) as auc, avg(brier) as brier, "
            f"avg(positive_rate) as positive_rate from {performance_table} "
            "group by day order by day"
        ).pl()
    if table_exists(conn, drift_table):
        drift = conn.sql(
            f"select day, max(drifted_share) as drifted_share from {drift_table} "
            "group by day order by day"
        ).pl()
    return performance, drift


def judged(performance: pl.DataFrame, min_rows: int) -> pl.DataFrame:
    """Days with at least ``min_rows`` labelled predictions and both outcomes (else no AUC).

    ``min_rows`` is the spec's ``monitoring.performance.min_rows``, the floor under which the
    performance check does not judge a day either.
    """
    return performance.filter(pl.col("rows") >= min_rows, pl.col("auc").is_not_nan())


def summary_text(
    performance: pl.DataFrame,
    drift: pl.DataFrame,
    retrains: list[Retrain],
    label: str,
    min_rows: int,
) -> str:
    """Days, retrains and why, promotions vs rejections, daily AUC of served predictions.

    Args:
        performance: per day: rows, auc, positive_rate (the share of rows whose label is true).
        drift: per day: drifted_share.
        retrains: the retrains the sensor started, oldest first.
        label: the spec's label column, named in the text.
        min_rows: labelled predictions a day needs to count (see ``judged``).
    """
    evaluated = judged(performance, min_rows)
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
            .agg(pl.col("auc").mean(), pl.col("positive_rate").mean(), pl.col("rows").sum())
            .sort("month")
        )
        lines.append(
            f"daily AUC of served predictions, monthly mean (share of rows where {label} is true):"
            if dated
            else f"AUC of served predictions per batch (share of rows where {label} is true):"
        )
        lines += [
            f"  {m['month']}: AUC {m['auc']:.3f} "
            f"({label} {m['positive_rate']:.1%}, {m['rows']} rows)"
            for m in monthly.iter_rows(named=True)
        ]
        auc = evaluated["auc"]
        lines.append(
            f"  all days: AUC mean {auc.mean():.3f}, min {auc.min():.3f}, max {auc.max():.3f}"
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
) -> Path:
    """Daily AUC and drifted share with retrains marked (promoted solid, rejected dashed).

    The title names the ``model`` and its ``label``; days count as in ``summary_text``.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (top, bottom) = plt.subplots(2, 1, figsize=(11, 6), sharex=True)
    evaluated = judged(performance, min_rows).sort("day")
    top.plot(evaluated["day"].to_list(), evaluated["auc"].to_list(), lw=1, color="tab:blue")
    top.set_ylabel("daily AUC (served)")
    shares = drift.sort("day")
    bottom.plot(shares["day"].to_list(), shares["drifted_share"].to_list(), color="tab:orange")
    bottom.set_ylabel("drifted share")
    dated = drift.schema["day"].is_temporal() if drift.height else True
    for r in retrains:
        style = "-" if r.decision == "promoted" else "--"
        when = pl.Series([r.day]).str.to_date()[0] if dated else r.day  # a batch's key
        for axis in (top, bottom):
            axis.axvline(when, color="tab:red", ls=style, lw=0.8)
    top.set_title(
        f"{model} ({label}): served AUC and input drift; retrains in red (solid = promoted)"
    )
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp.png")
    fig.savefig(tmp, dpi=90)
    plt.close(fig)
    tmp.replace(path)
    return path
