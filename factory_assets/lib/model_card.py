"""The model card: a markdown record of what made a model version and how it performs."""

from collections.abc import Sequence
from typing import Any

import numpy as np

from factory_assets.lib.markdown import markdown_table
from factory_assets.lib.tasks import Task, metric_label

BINARY = Task()


def _cell(value: Any, round_floats: bool = True) -> str:
    if round_floats and isinstance(value, float | np.floating):
        return f"{value:.4f}"
    if isinstance(value, tuple | list):
        return " to ".join(str(v) for v in value)
    return str(value)


def _table(rows: dict, header: tuple[str, str], round_floats: bool = True) -> str:
    if not rows:
        return "_none_"
    return markdown_table(header, [(k, _cell(v, round_floats)) for k, v in rows.items()])


def _intended_use(  # noqa: PLR0913
    description: str, label: str, features: str, label_table: str, inputs: Sequence[str], task: Task
) -> str:
    lines = [
        f"- Task: {task.described(label)}",
        f"- Label: `{label}`, read from `{label_table or features}`.",
    ]
    if inputs:
        lines.append(f"- Inputs: {len(inputs)} columns of `{features}`: {', '.join(inputs)}.")
    return f"## Intended use\n\n{description.strip()}\n\n" + "\n".join(lines)


def _task_tables(tables: dict[str, str]) -> list[str]:
    """The task's holdout tables (calibration, residuals, confusion), as sections."""
    titles = {
        "calibration": "Calibration (probability bins)",
        "residuals": "Residuals by decile of the prediction",
        "confusion": "Confusion matrix (rows: true class; columns: predicted) and recall",
    }
    return [f"### {titles.get(k, k)}\n\n{v.strip()}" for k, v in tables.items()]


def _leakage(found: dict | None) -> str:
    """The leakage guard's section: each shown input's score alone on the training window."""
    if not found:
        return "## Leakage guard\n\n_not run_"
    verdict = {c: "leak" for c in found["leaks"]} | {c: "allowed" for c in found["allowed"]}
    rows = {c: f"{s} {verdict.get(c, '')}".strip() for c, s in found["scores"].items()}
    metric = metric_label(found["metric"])
    return (
        f"## Leakage guard\n\nEach input alone on {found['rows']} training rows; "
        f"{metric} {found['max_score']} or more is a leak.\n\n"
        + _table(rows, ("input", f"{metric} alone"), round_floats=False)
    )


def _metrics(metrics: dict, baseline: dict | None) -> str:
    """The holdout metrics, beside the gradient-boosted baseline's on the same rows if any."""
    if not baseline:
        return _table(metrics, ("metric", "value"))
    rows = [(k, _cell(v), _cell(baseline[k]) if k in baseline else "") for k, v in metrics.items()]
    return markdown_table(("metric", "model", "baseline (gradient-boosted)"), rows)


def _limitations(label: str, features: str, window: dict) -> str:
    train = window.get("train")
    trained = f"dated {_cell(train)}" if train else "of its training window"
    if isinstance(train, str):  # a model without dates: its split, in words
        trained = train
    return (
        "## Limitations\n\n"
        f"- Trained on rows of `{features}` {trained} only; rows from outside that window's "
        "population (other periods, sources or kinds of rows) are out of scope.\n"
        f"- The relation between the inputs and `{label}` drifts with time: a model trained on "
        "one window can be miscalibrated in another; watch the drift report and the served "
        "performance.\n"
        "- Segments with few rows have noisy metrics; read their tables with the row counts in "
        "mind."
    )


def model_card(
    *,
    name: str,
    version: str | None,
    description: str,
    label: str,
    features: str,
    data_version: str,
    code_version: str,
    window: dict,
    params: dict,
    metrics: dict,
    segment_tables: dict[str, str],
    importance_table: str | None,
    gate: dict,
    label_table: str = "",
    inputs: Sequence[str] = (),
    task: Task = BINARY,
    task_tables: dict[str, str] | None = None,
    leakage: dict | None = None,
    baseline: dict | None = None,
    snapshots: dict[str, str] | None = None,
) -> str:
    """A markdown model card; segment and importance tables arrive already as markdown.

    Its words come from the model's spec: ``description``, the ``label`` column, the
    ``features`` table (and ``label_table`` when the label is joined from another one) and the
    ``inputs``; ``window["train"]`` bounds what the limitations call in scope. ``task`` says
    what the served number is; ``task_tables`` (markdown: calibration, residuals by decile,
    confusion) follow the metrics; ``leakage`` is the leakage guard's verdict (lib/leakage.py);
    ``baseline`` the gradient-boosted baseline's metrics on the same holdout, shown beside;
    ``snapshots`` the lake snapshot ids of the rows (``training``, ``evaluation``).

    An importance table of None or "" (importance not computed) shows as ``_none_``.

    ``gate`` needs ``promoted`` (bool) and ``reason``; its other keys are listed as evidence.
    """
    promoted = bool(gate.get("promoted"))
    evidence = {k: v for k, v in gate.items() if k not in ("promoted", "reason")}
    segments = [f"### By {key}\n\n{table.strip()}" for key, table in segment_tables.items()]
    sections = [
        f"# Model card: {name}",
        f"Registry version: {version or 'not registered'}",
        _intended_use(description, label, features, label_table, inputs, task),
        f"## Data\n\n- Data version: `{data_version}`\n"
        + "".join(f"- Lake snapshot ({k} rows): {v}\n" for k, v in (snapshots or {}).items())
        + "\n".join(f"- {key}: {_cell(value)}" for key, value in window.items()),
        f"## Code\n\n- Code version: `{code_version}`",
        "## Parameters\n\n" + _table(params, ("parameter", "value"), round_floats=False),
        "\n\n".join(
            ["## Holdout metrics\n\n" + _metrics(metrics, baseline)]
            + _task_tables(task_tables or {})
        ),
        "## Segments\n\n" + ("\n\n".join(segments) if segments else "_none_"),
        "## Feature importance\n\n" + ((importance_table or "").strip() or "_none_"),
        _leakage(leakage),
        f"## Gate decision\n\n**{'Promoted' if promoted else 'Not promoted'}**: "
        f"{gate.get('reason', 'no reason given')}\n\n" + _table(evidence, ("evidence", "value")),
        _limitations(label, features, window),
    ]
    return "\n\n".join(sections) + "\n"
