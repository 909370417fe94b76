"""What `factory replay` shows a person: a line per stage and period; the libraries log to a file.

Dagster's events (DEBUG and up), dbt's log, MLflow's and Lightning's messages are written by this
process and by any step subprocess to their standard output and error: both file descriptors are
pointed at a log file under the state directory, so no library's output reaches the terminal,
whoever wrote it. The terminal gets a rich progress display and one line per finished stage,
with its counts and what failed. ``--verbose`` leaves the descriptors alone: everything on the
console, as before.
"""

import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

import dagster as dg
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)

from factory_assets.lib.calendar import Calendar

# Quiet where the libraries offer it: the log file gets plain lines, not bars and colour codes.
QUIET_ENV = {
    "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",  # a bar per artifact download and upload
    "DBT_USE_COLORS": "false",  # dbt's log lines without ANSI escapes
}
RANGE = "…"


@contextlib.contextmanager
def _output_to(path: Path) -> Iterator[TextIO]:
    """Send this process's output and its children's to ``path`` while inside; yield the terminal.

    Descriptors 1 and 2 are pointed at the file (step subprocesses, C libraries), and so are
    ``sys.stdout`` and ``sys.stderr`` (Python writers, also where something replaced them).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    terminal = os.fdopen(os.dup(1), "w", buffering=1)
    try:
        with (
            path.open("a", buffering=1) as log,
            contextlib.redirect_stdout(log),
            contextlib.redirect_stderr(log),
        ):
            os.dup2(log.fileno(), 1)
            os.dup2(log.fileno(), 2)
            try:
                yield terminal
            finally:
                os.dup2(saved[0], 1)
                os.dup2(saved[1], 2)
    finally:
        for fd in saved:
            os.close(fd)
        terminal.close()


@contextlib.contextmanager
def console_for(log: Path, verbose: bool = False) -> Iterator[Console]:
    """A console on the terminal; without ``verbose`` all other output goes to ``log``."""
    if verbose:
        yield Console(highlight=False, soft_wrap=True)
        return
    os.environ.update(QUIET_ENV)
    with _output_to(log) as terminal:
        console = Console(file=terminal, highlight=False, soft_wrap=True)
        console.print(f"log: {log}")
        console.print("[dim](Dagster's events, dbt's and MLflow's logs; --verbose shows them here)")
        yield console


def _label(kwargs: dict) -> str:
    """The partition, or the partition range, a run was started for (else its own label)."""
    tags = kwargs.get("tags") or {}
    if "factory/label" in tags:
        return tags["factory/label"]
    first = tags.get("dagster/asset_partition_range_start")
    if first:
        last = tags["dagster/asset_partition_range_end"]
        return first if first == last else f"{first}{RANGE}{last}"
    return kwargs.get("partition_key") or ""


def counts(result: dg.ExecuteInProcessResult) -> str:
    """Rows ingested and scored, models packaged, check verdicts and failed steps of a run."""
    ingested = scored = 0
    packaged, seen = [], set()
    for event in result.get_asset_materialization_events():
        metadata = {k: v.value for k, v in event.materialization.metadata.items()}
        name = event.asset_key.to_user_string()
        # one result over a range of partitions is an event per partition, each with its totals
        once = (name, repr(sorted(metadata.items())))
        if once in seen and "dagster/partition_row_count" not in metadata:
            continue
        seen.add(once)
        if name.startswith("raw_"):
            ingested += metadata.get("dagster/partition_row_count", metadata.get("rows_loaded", 0))
        scored += metadata.get("rows_scored", 0)
        if "promoted" in metadata:
            verdict = "promoted" if metadata["promoted"] else "not promoted"
            packaged.append(f"{name.removesuffix('_package')} {verdict}")
    parts = [f"ingested {ingested:,}"] if ingested else []
    parts += [f"scored {scored:,}"] if scored else []
    parts += packaged
    evaluations = result.get_asset_check_evaluations()
    if evaluations:
        failed = [e for e in evaluations if not e.passed]
        warned = [e for e in failed if e.severity == dg.AssetCheckSeverity.WARN]
        errors = [e for e in failed if e.severity != dg.AssetCheckSeverity.WARN]
        text = f"checks {len(evaluations) - len(failed)} passed"
        text += f", {len(warned)} warned" if warned else ""
        if errors:
            names = sorted({e.asset_check_key.name for e in errors})
            text += f", {len(errors)} failed ({', '.join(names)})"
        parts.append(text)
    for event in result.all_events:
        if event.is_step_failure:
            error = event.step_failure_data.error
            while error and error.cause:  # the root cause, not Dagster's wrapper of it
                error = error.cause
            message = (error.message if error else event.message or "").strip().splitlines()
            parts.append(f"step {event.step_key} failed: {message[0] if message else ''}")
    return " · ".join(parts)


class ReplayProgress:
    """A live line for the running stage, a bar over the periods, a line per finished stage."""

    def __init__(self, console: Console, calendar: Calendar, periods: int) -> None:
        """Progress over ``periods`` periods of ``calendar``, shown on ``console``."""
        self.console = console
        self.calendar = calendar
        self.display = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=True,  # the finished lines stay; the live line goes
            # leave sys.stdout and sys.stderr on the log file (rich would print them here)
            redirect_stdout=False,
            redirect_stderr=False,
        )
        self.task = self.display.add_task("replay", total=periods)

    def __enter__(self) -> "ReplayProgress":
        self.display.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.display.stop()

    def started(self, stage: str, kwargs: dict) -> None:
        """A run of ``stage`` begins."""
        self.display.update(self.task, description=f"{_label(kwargs)} {stage}".strip())

    def finished(
        self, stage: str, kwargs: dict, result: dg.ExecuteInProcessResult, seconds: float
    ) -> None:
        """A run of ``stage`` ended: its line, and the bar moves on past a period's line run."""
        label = _label(kwargs)
        status = "[green]ok[/]    " if result.success else "[bold red]FAILED[/]"
        line = f"{escape(label):<23} {escape(stage):<22} {status} {seconds:5.0f} s  "
        self.console.print((line + escape(counts(result))).rstrip())
        if stage.endswith(" line") and stage != "initial line" and label:
            if self.calendar is None:  # a batched dataset: one batch a run
                self.display.advance(self.task, 1)
                return
            first, _, last = label.partition(RANGE)
            span = self.calendar.between(
                self.calendar.period(first), self.calendar.period(last or first)
            )
            self.display.advance(self.task, len(span))
