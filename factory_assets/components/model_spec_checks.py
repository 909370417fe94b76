"""The rules a model spec must follow; each broken rule is one message: file, field, allowed."""

from pathlib import Path

from factory_assets.components.model_spec import (
    IDENTIFIER,
    MANIFEST,
    SEARCHABLE,
    SEGMENT_VALUE,
    SpecError,
    parse_date,
)
from factory_assets.lib.catalog import upstream_tables

MAX_LISTED = 40
MAX_SPLIT = 50  # percent of keys validation and holdout take together at most


def _allowed(values: object) -> str:
    items = sorted(map(str, values))
    shown = ", ".join(items[:MAX_LISTED])
    return shown + (f", … ({len(items)} in all)" if len(items) > MAX_LISTED else "")


def _fail(source: Path, field: str, problem: str, allowed: str | None = None) -> None:
    text = f"{source}: {field}: {problem}"
    raise SpecError(text + (f"; allowed: {allowed}" if allowed else ""))


def _identifier(source: Path, field: str, value: str) -> None:
    if not IDENTIFIER.fullmatch(value):
        _fail(source, field, f"{value!r} is not a plain identifier", "lowercase letters, digits "
              "and _, starting with a letter or _ (no quotes, semicolons or spaces)")  # fmt: skip


def _range(source: Path, field: str, value: float, low: float, high: float) -> None:
    if not low <= value <= high:
        _fail(source, field, f"{value} is impossible", f"{low} … {high}")


def _check_data(spec, source: Path, tables: dict) -> set[str]:  # noqa: ANN001
    d = spec.data
    for field in ("features", "key", "date", "label", "labels_from"):
        if getattr(d, field) is not None:
            _identifier(source, f"data.{field}", getattr(d, field))
    for field in ("categorical", "numeric"):
        for i, column in enumerate(getattr(d, field)):
            _identifier(source, f"data.{field}[{i}]", column)
    if d.features not in tables:
        _fail(source, "data.features", f"no table or asset {d.features!r}", _allowed(tables))
    columns = set(tables[d.features])
    for field in ("key", "date", *([] if d.labels_from else ["label"])):
        if getattr(d, field) is not None and getattr(d, field) not in columns:
            problem = f"{getattr(d, field)!r} is not a column of {d.features}"
            _fail(source, f"data.{field}", problem, _allowed(columns))
    if d.labels_from:
        if d.labels_from not in tables:
            _fail(source, "data.labels_from", f"no table {d.labels_from!r}", _allowed(tables))
        label_columns = set(tables[d.labels_from])
        for field in ("key", "label"):
            if getattr(d, field) not in label_columns:
                problem = f"{getattr(d, field)!r} is not a column of {d.labels_from}"
                _fail(source, f"data.{field}", problem, _allowed(label_columns))
    inputs = [*d.categorical, *d.numeric]
    if not inputs:
        _fail(source, "data", "no input column", "categorical and/or numeric columns")
    for field in ("categorical", "numeric"):
        for i, column in enumerate(getattr(d, field)):
            if column not in columns:
                problem = f"{column!r} is not a column of {d.features}"
                _fail(source, f"data.{field}[{i}]", problem, _allowed(columns))
            if column in {d.label, d.key, d.date}:
                _fail(source, f"data.{field}[{i}]", f"{column!r} is the key, date or label",
                      "columns known before the outcome, other than key and date")  # fmt: skip
    if len(set(inputs)) != len(inputs):
        _fail(source, "data", "a column is listed twice", "each input once")
    return set(inputs)


def _check_split(spec, source: Path, windows: tuple) -> None:  # noqa: ANN001
    """A model without data.date: no date windows, and a split that leaves most keys to train."""
    for field, value in windows:
        if value is not None:
            _fail(source, field, "set, but the model has no data.date: it trains on its key-hash "
                  "split", "unset (tune training.split)")  # fmt: skip
    split = spec.training.split
    if split is not None and (
        min(split.val, split.holdout) < 1 or split.val + split.holdout > MAX_SPLIT
    ):
        _fail(source, "training.split", f"val {split.val} % and holdout {split.holdout} % are "
              "impossible", f"each >= 1, together <= {MAX_SPLIT}")  # fmt: skip


def _check_windows(spec, source: Path) -> None:  # noqa: ANN001
    t, e = spec.training, spec.evaluation
    windows = (
        ("training.train_start", t.train_start),
        ("training.train_end", t.train_end),
        ("evaluation.holdout_start", e.holdout_start),
        ("evaluation.holdout_end", e.holdout_end),
    )
    if spec.data.date is None:
        _check_split(spec, source, windows)
    else:
        if t.split is not None:
            _fail(source, "training.split", "set, but the model has data.date: its windows "
                  "are dates", "unset, or omit data.date")  # fmt: skip
        for field, value in windows:
            if value is None:
                _fail(source, field, "missing; a model with data.date sets it", "YYYY-MM-DD")
            if parse_date(value) is None:
                _fail(source, field, f"{value!r} is not a date", "YYYY-MM-DD")
        if parse_date(t.train_start) > parse_date(t.train_end):
            _fail(source, "training.train_end", "ends before training.train_start",
                  "end >= start")  # fmt: skip
        if parse_date(e.holdout_start) > parse_date(e.holdout_end):
            _fail(source, "evaluation.holdout_end", "ends before holdout_start", "end >= start")
    for field in ("val_days", "max_epochs", "batch_size"):
        if getattr(t, field) < 1:
            _fail(source, f"training.{field}", f"{getattr(t, field)} is impossible", ">= 1")
    _range(source, "training.dropout", t.dropout, 0.0, 0.95)
    if t.lr <= 0 or t.weight_decay < 0:
        _fail(source, "training.lr", "must be positive (weight_decay >= 0)", "lr > 0")
    if not t.hidden or min(t.hidden) < 1:
        _fail(source, "training.hidden", f"{t.hidden} is impossible", "a list of widths >= 1")


def _check_thresholds(spec, source: Path, inputs: set[str]) -> None:  # noqa: ANN001
    g, m = spec.gate, spec.monitoring
    _range(source, "gate.min_auc", g.min_auc, 0.0, 1.0)
    _range(source, "gate.max_brier", g.max_brier, 0.0, 1.0)
    _range(source, "gate.margin", g.margin, 0.0, 1.0)
    _range(source, "monitoring.drift.max_drifted_share", m.drift.max_drifted_share, 0.0, 1.0)
    _range(source, "monitoring.drift.column_threshold", m.drift.column_threshold, 0.0, 1.0)
    _range(source, "monitoring.performance.min_auc", m.performance.min_auc, 0.0, 1.0)
    _range(source, "monitoring.performance.max_brier", m.performance.max_brier, 0.0, 1.0)
    _range(source, "monitoring.performance.window", m.performance.window, 1, 366)
    _range(source, "data.label_lag", spec.data.label_lag, 0, 366)
    for i, column in enumerate(m.drift.ignore):
        if column not in inputs:
            _fail(source, f"monitoring.drift.ignore[{i}]", f"{column!r} is not an input",
                  _allowed(inputs))  # fmt: skip
    for field in ("cooldown_days", "train_days", "val_days", "holdout_days"):
        if getattr(m.retrain, field) < 1 and field != "cooldown_days":
            _fail(source, f"monitoring.retrain.{field}", "impossible", ">= 1")
    for i, column in enumerate(spec.evaluation.report_segments):
        if column not in inputs:
            _fail(source, f"evaluation.report_segments[{i}]", f"{column!r} is not an input",
                  _allowed(inputs))  # fmt: skip


def _check_segments(spec, source: Path, tables: dict) -> None:  # noqa: ANN001
    s = spec.segments
    if s is None:
        return
    _identifier(source, "segments.column", s.column)
    _identifier(source, "segments.fallback", s.fallback)
    if s.column not in tables[spec.data.features]:
        _fail(source, "segments.column", f"{s.column!r} is not a column of "
              f"{spec.data.features}", _allowed(tables[spec.data.features]))  # fmt: skip
    if not s.values or len(set(s.values)) != len(s.values):
        _fail(source, "segments.values", "empty or repeated", "distinct values")
    for i, value in enumerate(s.values):
        if not SEGMENT_VALUE.fullmatch(value):
            _fail(source, f"segments.values[{i}]", f"{value!r} cannot name a model",
                  "letters, digits, '_', '-', '.'")  # fmt: skip
    if s.fallback == spec.name:
        _fail(source, "segments.fallback", "a model cannot fall back on itself", "another model")
    if s.min_rows < 1:
        _fail(source, "segments.min_rows", f"{s.min_rows} is impossible", ">= 1")


def _check_search(spec, source: Path) -> None:  # noqa: ANN001
    if spec.search is None:
        return
    from factory_assets.lib.training.search import SearchSpace

    if not 1 <= spec.search.trials <= 500:
        _fail(source, "search.trials", f"{spec.search.trials} is impossible", "1 … 500")
    try:
        SearchSpace.parse(spec.search.space, allowed=SEARCHABLE)
    except ValueError as err:
        rule = f"low < high (and log, int) or choices, for any of {_allowed(SEARCHABLE)}"
        _fail(source, "search.space", str(err), None if "allowed:" in str(err) else rule)


def check_spec(spec, source: Path, tables: dict[str, tuple[str, ...]]) -> None:  # noqa: ANN001
    """Raise SpecError at the first rule ``spec`` (read from ``source``) breaks."""
    from dagster._utils.schedules import is_valid_cron_string

    _identifier(source, "name", spec.name)
    if spec.predictions_table:
        _identifier(source, "predictions_table", spec.predictions_table)
    inputs = _check_data(spec, source, tables)
    _check_windows(spec, source)
    _check_thresholds(spec, source, inputs)
    _check_segments(spec, source, tables)
    _check_search(spec, source)
    if spec.schedule and not is_valid_cron_string(spec.schedule.cron):
        _fail(source, "schedule.cron", f"{spec.schedule.cron!r} is not a cron string",
              "five fields, e.g. '0 6 * * *'")  # fmt: skip


def check_time_axis(spec, source: Path, dataset, tables: dict) -> None:  # noqa: ANN001
    """Raise SpecError unless the model's time axis fits its dataset's (``Dataset``).

    A model over a batched dataset has no data.date (it splits by key hash) and its feature
    table carries the batch column; a model over a periodic dataset has a data.date.
    """
    d = spec.data
    if d.date is None and not dataset.batched:
        _fail(source, "data.date", f"omitted, but {dataset.name} is periodic (a calendar)",
              f"a date column of {d.features}, or a batched dataset")  # fmt: skip
    if d.date is not None and dataset.batched:
        _fail(source, "data.date", f"{dataset.name} is batched: it has no time axis",
              "omit data.date (the model trains on its key-hash split)")  # fmt: skip
    if dataset.batched and spec.schedule is not None:
        _fail(source, "schedule", f"{dataset.name} is batched: each batch is scored when its "
              f"sensor ({dataset.name}_batch_sensor) finds it", "unset")  # fmt: skip
    if dataset.batched:
        _identifier(source, "data.batch_column", d.batch_column)
        if d.batch_column not in tables[d.features]:
            _fail(source, "data.batch_column", f"{d.batch_column!r} is not a column of "
                  f"{d.features}", _allowed(tables[d.features]))  # fmt: skip


def resolve_dataset(spec, source: Path, known: dict) -> object:  # noqa: ANN001 (a ModelSpec)
    """The dataset whose calendar (or batches) the model takes; SpecError unless one fits."""
    periodic = {name: d for name, d in known.items() if d.partitioned}
    if spec.data.dataset is not None:
        if spec.data.dataset not in periodic:
            raise SpecError(
                f"{source}: data.dataset: {spec.data.dataset!r} is no dataset with a "
                "calendar or batches; allowed: "
                f"{', '.join(sorted(periodic)) or '(none declared)'}"
            )
        return periodic[spec.data.dataset]
    raw = {t.removeprefix("raw_") for t in upstream_tables(MANIFEST, spec.data.features)}
    if spec.data.labels_from:
        raw |= {t.removeprefix("raw_") for t in upstream_tables(MANIFEST, spec.data.labels_from)}
    found = sorted(
        name for name, d in periodic.items() if any(s.name in raw for s in d.periodic + d.batched)
    )
    if len(found) != 1:
        problem = (
            f"{spec.data.features} is built from the periodic (or batch) sources of "
            f"{', '.join(found)}"
            if found
            else f"{spec.data.features} is built from no periodic (or batch) source"
        )
        raise SpecError(
            f"{source}: data.dataset: {problem}, so its calendar is unclear; allowed: "
            f"one of {', '.join(sorted(periodic)) or '(none declared)'}"
        )
    return periodic[found[0]]
