"""Timing and result-writing helpers shared by the benchmarks."""

import datetime as dt
import json
import os
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

RESULTS_DIR = Path(__file__).parent / "results"

T = TypeVar("T")


def timed(fn: Callable[[], T], repeats: int) -> tuple[T, list[float]]:
    """Call ``fn`` once untimed, then ``repeats`` times under ``time.perf_counter``.

    The warm-up call keeps one-off costs (imports, caches, lazy initialisation of thread pools)
    out of the measured runs, so both sides are compared in their steady state.

    Returns:
        The result of the last call and the seconds each timed call took, in call order.
    """
    result = fn()
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        seconds.append(time.perf_counter() - start)
    return result, seconds


def timed_pair(
    baseline: Callable[[], T], candidate: Callable[[], T], repeats: int
) -> tuple[T, list[float], T, list[float]]:
    """Time two functions in alternation: baseline, candidate, baseline, candidate, ...

    This machine's speed drifts by tens of percent over seconds (shared cores); alternating
    makes both sides meet the same drift, so the ratio of medians is not skewed by it.

    Returns:
        Baseline's last result and seconds, then the candidate's.
    """
    results, seconds = [baseline(), candidate()], ([], [])  # untimed warm-ups
    for _ in range(repeats):
        for side, fn in enumerate((baseline, candidate)):
            start = time.perf_counter()
            results[side] = fn()
            seconds[side].append(time.perf_counter() - start)
    return results[0], seconds[0], results[1], seconds[1]


def machine() -> dict[str, Any]:
    """What the timings were measured on; ratios differ a lot with core count."""
    return {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "python": platform.python_version(),
        "cpu_count": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
    }


def write_result(
    name: str,
    baseline: str,
    candidate: str,
    baseline_times: list[float],
    candidate_times: list[float],
    goal: float,
    rows: int,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Write ``results/<name>.json`` comparing median timings, and return what was written.

    Args:
        name: benchmark name; also the file name.
        baseline: what the candidate is compared against, in words.
        candidate: what is being measured, in words.
        baseline_times: seconds of each timed baseline run.
        candidate_times: seconds of each timed candidate run.
        goal: the speed-up (baseline_s / candidate_s) the candidate should reach.
        rows: rows processed per run.
        extra: further keys to store, e.g. library versions or the goal in words.

    Returns:
        The result record; ``ratio`` > 1 means the candidate is faster.
    """
    baseline_s = statistics.median(baseline_times)
    candidate_s = statistics.median(candidate_times)
    ratio = baseline_s / candidate_s
    record = {
        "name": name,
        "baseline": baseline,
        "candidate": candidate,
        "baseline_s": baseline_s,
        "candidate_s": candidate_s,
        "ratio": ratio,
        "goal": goal,
        "goal_met": bool(ratio >= goal),
        "rows": rows,
        "runs": len(candidate_times),
        "all_baseline_s": list(baseline_times),
        "all_candidate_s": list(candidate_times),
        "machine": machine(),
        "measured_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        **(extra or {}),
    }
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{name}.json"
    path.write_text(json.dumps(record, indent=2) + "\n")
    return record


def store_record(name: str, record: dict[str, Any], text: str) -> None:
    """Write ``results/<name>.json`` (the record) and ``.md`` (``text``), each whole or none."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    for suffix, body in ((".json", json.dumps(record, indent=2) + "\n"), (".md", text)):
        tmp = RESULTS_DIR / f".{name}{suffix}.tmp"
        tmp.write_text(body)
        os.replace(tmp, RESULTS_DIR / f"{name}{suffix}")
