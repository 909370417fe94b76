"""The rules that tie a source spec's fields together: ``SourceSpec``'s model validator.

Each raises ``rule`` at the first break, with the field it is about, in the order the fields
are written; single-field rules are the fields' own constraints (lib/specs/source.py).
"""

from factory_assets.lib.calendar import Calendar, parse_moment
from factory_assets.lib.landing_files import EXTENSIONS
from factory_assets.lib.specs.errors import listing, rule
from factory_assets.lib.specs.source import (
    DATED,
    NUMERIC,
    PERIOD_NAMES,
    PLACEHOLDERS,
    RESERVED,
    SAMPLE,
    TYPES,
    UNDATED,
    SourceSpec,
    path_placeholders,
    reads_back,
)


def check(spec: SourceSpec) -> None:
    """Raise the first rule ``spec``'s fields break together."""
    _path(spec)
    _columns(spec)
    _dates(spec)
    _reading(spec)
    if spec.grain == "snapshot" and spec.lag:
        raise rule("a snapshot has no file period", "0 or unset", at=("lag",))
    _calendar(spec)


def _path(spec: SourceSpec) -> None:
    value, grain, endings = spec.path, spec.grain, EXTENSIONS[spec.file_format]
    if not value.endswith(endings):
        allowed = f"a path ending in {' or '.join(endings)} (file_format {spec.file_format})"
        raise rule(f"{value!r}", allowed, at=("path",))
    fields = path_placeholders(value)
    if grain == "batch" and fields != ["batch"]:
        raise rule(f"{value!r} does not name its batch once, but the source is batch",
                   "a path with {batch} once and no other placeholder, e.g. "
                   "customers/batch_{batch}.csv", at=("path",))  # fmt: skip
    if grain != "batch" and "batch" in fields:
        raise rule(f"{value!r} names a batch, but the source is {grain}",
                   "{batch} only on a batch source", at=("path",))  # fmt: skip
    if grain in PERIOD_NAMES and not any(names <= set(fields) for names in PERIOD_NAMES[grain]):
        needs = " or ".join(
            ", ".join(f"{{{n}}}" for n in sorted(names, key=list(PLACEHOLDERS).index))
            for names in PERIOD_NAMES[grain]
        )
        raise rule(f"{value!r} names no period, but the source is {grain}",
                   f"a path with {needs}", at=("path",))  # fmt: skip
    if grain == "snapshot" and fields:
        raise rule(f"{value!r} names a period, but a snapshot is one file", "no placeholders",
                   at=("path",))  # fmt: skip


def _declared(spec: SourceSpec, field: str) -> None:
    names = getattr(spec, field) or []
    for name in names:
        if name not in spec.columns:
            raise rule(f"{name!r} is not a declared column", listing(spec.columns), at=(field,))
    if len(set(names)) < len(names):
        raise rule(f"a column is listed twice in {names}", "each column once", at=(field,))


def _columns(spec: SourceSpec) -> None:
    for name in spec.columns:
        if name in RESERVED:
            raise rule("the name is reserved", f"any but {listing(RESERVED)}", at=("columns", name))
    for field in ("primary_key", "required", "date_columns"):
        _declared(spec, field)
    numeric = listing(c for c, kind in spec.columns.items() if kind in NUMERIC)
    for name in spec.ranges:
        if spec.columns.get(name) not in NUMERIC:
            what = f"a {spec.columns[name]}" if name in spec.columns else "not a declared column"
            raise rule(f"{name!r} is {what}", f"the number columns {numeric}", at=("ranges", name))


def _dates(spec: SourceSpec) -> None:
    undated = UNDATED.get(spec.grain)
    if spec.date_columns is not None:
        if undated:
            raise rule(f"a {undated} has no file period", "unset", at=("date_columns",))
        kinds = [spec.columns[n] for n in spec.date_columns]
        if len(kinds) != 3 or any(kind not in ("int32", "int64") for kind in kinds):
            raise rule(f"{spec.date_columns}", "three int columns: year, month, day",
                       at=("date_columns",))  # fmt: skip


def _calendar(spec: SourceSpec) -> None:
    grain = spec.grain
    if grain in UNDATED:
        for field in ("start", "end"):
            if getattr(spec, field) is not None:
                raise rule(f"a {UNDATED[grain]} has no periods", "unset", at=(field,))
        return
    if spec.start is None:
        raise rule(f"missing; a {grain} source names its first period", "an ISO date",
                   at=("start",))  # fmt: skip
    start = parse_moment(spec.start)
    end = None if spec.end is None else parse_moment(spec.end)
    allowed = {"hourly": "a whole hour", "monthly": "a month's first day"}.get(grain, "a date")
    try:
        calendar = Calendar(grain, start, None, spec.timezone)
    except ValueError:
        raise rule(f"{start} does not start a {grain} period", allowed, at=("start",)) from None
    if end is not None and calendar.period_of(end).start != end:
        if grain == "weekly":
            allowed = f"a {start:%A}, as the weeks start on start's weekday"
        raise rule(f"{end} does not start a {grain} period", allowed, at=("end",))
    if end is not None and end < start:
        raise rule(f"{end} is before start {start}", "start <= end", at=("end",))


def _reading(spec: SourceSpec) -> None:
    if "delimiter" in spec.model_fields_set and spec.file_format != "csv":
        raise rule(f"a {spec.file_format} file has no delimiter", "unset (csv only)",
                   at=("delimiter",))  # fmt: skip
    column, columns = spec.period_column, spec.columns
    if column is not None:
        if spec.grain in UNDATED:
            raise rule(f"a {UNDATED[spec.grain]} has no period", "unset", at=("period_column",))
        if columns.get(column) not in DATED:
            what = f"a {columns[column]}" if column in columns else "not a declared column"
            dated = listing(c for c in columns if columns[c] in DATED) or "(none declared)"
            raise rule(f"{column!r} is {what}", f"a date or datetime column: {dated}",
                       at=("period_column",))  # fmt: skip
        if spec.date_columns is not None:
            raise rule("set together with date_columns", "one of period_column and date_columns",
                       at=("period_column",))  # fmt: skip
    text = spec.period_format
    if text is None:
        return
    if column is None:
        raise rule("set without a period_column", "unset, or a period_column",
                   at=("period_format",))  # fmt: skip
    allowed = "a strftime format with %Y, %m (or %b) and %d, e.g. '%d/%m/%Y'"
    if "%Y" not in text:
        raise rule(f"{text!r}", allowed, at=("period_format",))
    if not reads_back(text, TYPES[columns[column]]):
        raise rule(f"{text!r} does not read back the day it writes ({SAMPLE.date()})",
                   allowed, at=("period_format",))  # fmt: skip
