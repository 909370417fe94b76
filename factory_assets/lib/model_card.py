"""The model card: a markdown record of what made a model version and how it performs."""

from typing import Any

import numpy as np


def _cell(value: Any, round_floats: bool = True) -> str:
    if round_floats and isinstance(value, float | np.floating):
        return f"{value:.4f}"
    if isinstance(value, tuple | list):
        return " to ".join(str(v) for v in value)
    return str(value).replace("|", "\\|")


def _table(rows: dict, header: tuple[str, str], round_floats: bool = True) -> str:
    lines = [f"| {header[0]} | {header[1]} |", "| --- | --- |"]
    lines += [f"| {key} | {_cell(value, round_floats)} |" for key, value in rows.items()]
    return "\n".join(lines) if rows else "_none_"


def model_card(
    *,
    name: str,
    version: str | None,
    data_version: str,
    code_version: str,
    window: dict,
    params: dict,
    metrics: dict,
    segment_tables: dict[str, str],
    importance_table: str | None,
    gate: dict,
) -> str:
    """A markdown model card; segment and importance tables arrive already as markdown.

    An importance table of None or "" (importance not computed) shows as ``_none_``.

    ``gate`` needs ``promoted`` (bool) and ``reason``; its other keys are listed as evidence.
    """
    promoted = bool(gate.get("promoted"))
    evidence = {k: v for k, v in gate.items() if k not in ("promoted", "reason")}
    segments = [f"### By {key}\n\n{table.strip()}" for key, table in segment_tables.items()]
    sections = [
        f"# Model card: {name}",
        f"Registry version: {version or 'not registered'}",
        "## Intended use\n\nPredicts the probability that a scheduled departure from a New York "
        "City airport (EWR, JFK, LGA) arrives more than 15 minutes late. Uses only features "
        "known before departure: schedule, carrier, route, weather observed by the scheduled "
        "hour, late rates of earlier days; never the actual departure times or delays.",
        f"## Data\n\n- Data version: `{data_version}`\n"
        + "\n".join(f"- {key}: {_cell(value)}" for key, value in window.items()),
        f"## Code\n\n- Code version: `{code_version}`",
        "## Parameters\n\n" + _table(params, ("parameter", "value"), round_floats=False),
        "## Holdout metrics\n\n" + _table(metrics, ("metric", "value")),
        "## Segments\n\n" + ("\n\n".join(segments) if segments else "_none_"),
        "## Feature importance\n\n" + ((importance_table or "").strip() or "_none_"),
        f"## Gate decision\n\n**{'Promoted' if promoted else 'Not promoted'}**: "
        f"{gate.get('reason', 'no reason given')}\n\n" + _table(evidence, ("evidence", "value")),
        "## Limitations\n\n"
        "- Trained on 2013 departures from New York City only; other years, airports or "
        "schedules are out of scope.\n"
        "- Delays drift with the season (summer storms, winter weather, holidays): a model "
        "trained on one window can be miscalibrated in another; watch the drift report.\n"
        "- Segments with little data (small carriers, rare destinations) have noisy metrics; "
        "read their tables with the row counts in mind.",
    ]
    return "\n\n".join(sections) + "\n"
