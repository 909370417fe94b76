"""Whether a model's validation and holdout windows can judge it, asked before it trains.

A window of one class (or one value), or of fewer than ``min_rows`` labelled rows, cannot tell
a good model from a bad one: its AUC is undefined, its R² is nothing. The training station
asks here before it spends any training time, and fails naming the window, the label column
and the counts. A segmented line's thin segment falls back instead (lib/training/segment.py).
"""

import datetime as dt
from collections.abc import Sequence

import polars as pl

from factory_assets.lib.model_line import ModelLine
from factory_assets.lib.tasks import LabelError


class ThinDataError(ValueError):
    """A validation or holdout window that cannot judge a model; the message names it."""


def window_words(line: ModelLine, name: str, window: Sequence) -> str:
    """``name`` and its dates (``validation 2013-04-01..2013-04-14``), or a split's buckets."""
    if line.split is not None:
        return f"{name} {line.split.described()[name]}"
    start, end = (d.isoformat() if isinstance(d, dt.date) else str(d) for d in window)
    return f"{name} {start}..{end}"


def judge_windows(line: ModelLine, windows: dict[str, tuple[Sequence, pl.DataFrame]],
                  min_rows: int) -> None:  # fmt: skip
    """Raise unless each window's labelled rows can judge a model of ``line.task``.

    Args:
        line: the model line (its task, label column and split).
        windows: window name (``validation``, ``holdout``) -> ((start, end), its rows); rows
            with a null label do not count.
        min_rows: fewest labelled rows a window needs (the spec's ``evaluation.min_rows``).

    Raises:
        LabelError: a window's label does not fit the task (the window is named).
        ThinDataError: every window that cannot judge, e.g. "holdout 2013-04-15..2013-04-30:
            label is_late has 120 labelled rows, all of one class (0 positive)".
    """
    label, problems = line.columns.label, []
    for name, (window, rows) in windows.items():
        where = window_words(line, name, window)
        labels = rows[label].drop_nulls()
        try:
            y = line.task.encode(labels)
        except LabelError as error:
            raise LabelError(f"{where}: {error}") from error
        reason = line.task.why_cannot_judge(y, min_rows)
        if reason:
            problems.append(f"{where}: label {label} has {reason}")
    if problems:
        raise ThinDataError(
            "; ".join(problems) + ": widen the window or lower evaluation.min_rows "
            f"({min_rows}) before training"
        )
