"""Run every ``benchmarks/bench_*.py``, or only those named: ``python -m benchmarks [name ...]``."""

import importlib
import pkgutil
import sys
from pathlib import Path

PREFIX = "bench_"


def discover() -> list[str]:
    """Names of the benchmark modules, without the ``bench_`` prefix, sorted."""
    found = pkgutil.iter_modules([str(Path(__file__).parent)])
    return sorted(m.name.removeprefix(PREFIX) for m in found if m.name.startswith(PREFIX))


def main(argv: list[str] | None = None) -> int:
    """Run the selected benchmarks in order; exit status 2 names an unknown benchmark.

    Args:
        argv: benchmark names (``features_vs_pandas`` or ``bench_features_vs_pandas``);
            all benchmarks when empty or None.
    """
    available = discover()
    wanted = [name.removeprefix(PREFIX) for name in (argv or [])] or available
    unknown = sorted(set(wanted) - set(available))
    if unknown:
        print(f"unknown benchmark(s) {unknown}; available: {available}", file=sys.stderr)
        return 2
    for name in wanted:
        print(f"== {name}", flush=True)
        importlib.import_module(f"benchmarks.{PREFIX}{name}").main()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
