"""The model_quality benchmark's record as Markdown: a summary table, then each model by month."""

from factory_assets.lib.markdown import markdown_table


def _f(value: float | None) -> str:
    return "" if value is None else f"{value:.4f}"


def markdown(record: dict) -> str:
    """The summary (both measures per model) and each model's months."""
    replay = record["replay"]
    span = "the year" if not replay["days"] else f"{replay['days']} periods"
    out = [
        f"# model_quality: {span} replayed ({', '.join(replay['datasets'])})",
        "",
        f"Baselines: {record['baselines']}. Goal: {record['goal']}: "
        f"{'met' if record['goal_met'] else 'not met'}.",
        "",
    ]
    header = ["model", "metric", "measure", "factory", "frozen GBDT", "monthly GBDT",
              "margin vs monthly", "versions served", "promotions", "one-scale gap"]  # fmt: skip
    rows = []
    for name, m in record["models"].items():
        for measure in ("pooled", "per_period"):
            r = m[measure]
            rows.append((name, m["metric"], measure, _f(r["factory_mean"]),
                         _f(r["frozen_gbdt_mean"]), _f(r["monthly_gbdt_mean"]),
                         _f(r["margin_vs_monthly"]), m["versions_served"], m["promotions"],
                         _f(m["one_scale_gap_mean"])))  # fmt: skip
    out += [markdown_table(header, rows), ""]
    for name, m in record["models"].items():
        out += [
            f"## {name} ({m['task']}, {m['metric']}; {m['rows']} rows, {m['periods']} periods)",
            "",
        ]
        header = ["month", "rows", "versions", "factory", "frozen GBDT", "monthly GBDT",
                  "factory per-period", "monthly per-period", "one-scale gap"]  # fmt: skip
        rows = [(b["month"], b["rows"], len(b["versions"]), _f(b["factory"]),
                 _f(b["frozen_gbdt"]), _f(b["monthly_gbdt"]), _f(b["factory_period_mean"]),
                 _f(b["monthly_gbdt_period_mean"]), _f(b["one_scale_gap"]))
                for b in m["by_month"]]  # fmt: skip
        out += [markdown_table(header, rows), ""]
    return "\n".join(out)
