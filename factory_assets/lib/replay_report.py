"""The monitoring story of a model over time: a text summary and a PNG plot."""

from dataclasses import dataclass
from pathlib import Path

import polars as pl


@dataclass(frozen=True)
class Retrain:
    """One retrain the sensor started, and what the gate made of it."""

    day: str
    trigger: str
    detail: str
    status: str
    version: str | None
    decision: str | None  # "promoted" / "rejected" / None when no package was registered


def judged(performance: pl.DataFrame) -> pl.DataFrame:
    """Days with enough labelled predictions and both outcomes (no cancellation: no AUC)."""
    return performance.filter(pl.col("rows") >= 100, pl.col("auc").is_not_nan())


def summary_text(
    performance: pl.DataFrame, drift: pl.DataFrame, retrains: list[Retrain], label: str = "late"
) -> str:
    """Days, retrains and why, promotions vs rejections, daily AUC of served predictions.

    ``label`` names the positive class in the text ("late", "cancelled").
    """
    evaluated = judged(performance)
    promoted = sum(r.decision == "promoted" for r in retrains)
    rejected = sum(r.decision == "rejected" for r in retrains)
    lines = [
        f"days monitored: {drift.height} (drift), {evaluated.height} with labelled predictions",
        f"retrains triggered: {len(retrains)} — promoted {promoted}, rejected {rejected}, "
        f"without a package {len(retrains) - promoted - rejected}",
    ]
    lines += [
        f"  {r.day}: {r.trigger} ({r.detail}) → v{r.version or '-'} {r.decision or r.status}"
        for r in retrains
    ]
    if evaluated.height:
        monthly = (
            evaluated.group_by(pl.col("day").dt.strftime("%Y-%m").alias("month"))
            .agg(pl.col("auc").mean(), pl.col("positive_rate").mean(), pl.col("rows").sum())
            .sort("month")
        )
        lines.append(f"daily AUC of served predictions, monthly mean ({label} rate):")
        lines += [
            f"  {m['month']}: AUC {m['auc']:.3f} "
            f"({m['positive_rate']:.1%} {label}, {m['rows']} rows)"
            for m in monthly.iter_rows(named=True)
        ]
        lines.append(
            f"  year: AUC mean {evaluated['auc'].mean():.3f}, min {evaluated['auc'].min():.3f}, "
            f"max {evaluated['auc'].max():.3f}"
        )
    return "\n".join(lines)


def plot(
    performance: pl.DataFrame, drift: pl.DataFrame, retrains: list[Retrain], path: Path
) -> Path:
    """Daily AUC and drifted share with retrains marked (promoted solid, rejected dashed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (top, bottom) = plt.subplots(2, 1, figsize=(11, 6), sharex=True)
    evaluated = judged(performance).sort("day")
    top.plot(evaluated["day"].to_list(), evaluated["auc"].to_list(), lw=1, color="tab:blue")
    top.set_ylabel("daily AUC (served)")
    shares = drift.sort("day")
    bottom.plot(shares["day"].to_list(), shares["drifted_share"].to_list(), color="tab:orange")
    bottom.set_ylabel("drifted share")
    for r in retrains:
        style = "-" if r.decision == "promoted" else "--"
        for axis in (top, bottom):
            axis.axvline(pl.Series([r.day]).str.to_date()[0], color="tab:red", ls=style, lw=0.8)
    top.set_title("flights: served AUC and input drift; retrains in red (solid = promoted)")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp.png")
    fig.savefig(tmp, dpi=90)
    plt.close(fig)
    tmp.replace(path)
    return path
