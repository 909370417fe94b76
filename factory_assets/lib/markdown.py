"""Markdown tables for Dagster metadata, model cards and reports: the one table writer."""

from collections.abc import Iterable, Sequence

import numpy as np
import polars as pl

MISSING = "–"  # None and NaN in a frame's table


def escape(value: object) -> str:
    """A cell's text: ``|`` escaped and newlines as spaces (either would break the row)."""
    return str(value).replace("|", "\\|").replace("\r", " ").replace("\n", " ")


def markdown_table(
    header: Sequence[str],
    rows: Iterable[Sequence[object]],
    *,
    align: Sequence[str] | None = None,
    max_rows: int | None = None,
) -> str:
    """A GitHub-flavoured Markdown table; every cell goes through ``escape``.

    Args:
        header: the column names.
        rows: the rows, each as long as ``header``; values are shown with ``str``.
        align: per column ``"left"`` or ``"right"`` (default: all left).
        max_rows: rows shown at most; a closing line says how many were left out.

    Raises:
        ValueError: a row of another length than ``header``, or an unknown alignment.
    """
    rule = {"left": "---", "right": "---:"}
    align = align or ["left"] * len(header)
    if len(align) != len(header) or not set(align) <= set(rule):
        raise ValueError(f"align must give 'left' or 'right' for each of {len(header)} columns")
    body = [list(row) for row in rows]
    for row in body:
        if len(row) != len(header):
            raise ValueError(f"a row of {len(row)} cells under a header of {len(header)}: {row}")
    shown = body if max_rows is None else body[:max_rows]
    lines = [header, [rule[a] for a in align], *shown]
    text = "\n".join(
        "| " + " | ".join(c if i == 1 else escape(c) for c in cells) + " |"
        for i, cells in enumerate(lines)
    )
    left_out = len(body) - len(shown)
    return text + (f"\n\n_{left_out} more rows not shown._" if left_out else "")


def _frame_cell(value: object, float_digits: int) -> object:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return MISSING
    if isinstance(value, float):
        return f"{value:.{float_digits}f}"
    return value


def frame_table(frame: pl.DataFrame, float_digits: int = 4, max_rows: int = 50) -> str:
    """``frame`` as a Markdown table: numbers right-aligned, floats to ``float_digits``.

    None and NaN show as ``–``. Beyond ``max_rows`` rows a closing line says how many were
    left out.
    """
    return markdown_table(
        frame.columns,
        ([_frame_cell(v, float_digits) for v in row] for row in frame.iter_rows()),
        align=["right" if dtype.is_numeric() else "left" for dtype in frame.dtypes],
        max_rows=max_rows,
    )
