"""Benchmarks: each ``bench_<name>.py`` times a candidate against a baseline and writes
``results/<name>.json``; run them all with ``python -m benchmarks``."""
