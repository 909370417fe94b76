"""Validation of landing files: typed good rows out, bad rows quarantined with a reason.

A file that cannot be trusted as a whole (missing, empty, truncated, not of its format, missing
columns) raises LandingFileError and nothing of it is loaded. Every format is first read into
text cells (lib/landing_files.py), so one set of rules judges them all: within a readable file,
each row that fails a type, range, required-value, period or primary-key rule goes to
quarantine with every reason it failed; all other rows are kept.
"""

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from factory_assets.lib.calendar import Period
from factory_assets.lib.landing_files import (
    ISO_DATE,
    ISO_DATETIME,
    Cells,
    LandingFileError,
    read_cells,
)

__all__ = ["LandingFileError", "SourceSchema", "ValidatedFile", "validate"]

TRUE_TOKENS, FALSE_TOKENS = ["true", "1"], ["false", "0"]  # booleans, any letter case
NULL_TOKENS = ("NA", "")
# ISO 8601 variants after normalising (a space for T, Z for +00:00): with an offset, then naive
AWARE_FORMATS = (f"{ISO_DATETIME}%z", "%Y-%m-%dT%H:%M%z")
NAIVE_FORMATS = (ISO_DATETIME, "%Y-%m-%dT%H:%M", ISO_DATE)


@dataclass(frozen=True)
class SourceSchema:
    """The contract of one landing source.

    Attributes:
        name: source name, e.g. ``flights``; the raw table is ``raw_<name>``.
        columns: expected column -> Polars dtype, in file order.
        primary_key: columns that identify a row; later duplicates are quarantined.
        required: columns that must not be null.
        ranges: column -> inclusive (low, high) bounds.
        date_columns: (year, month, day) columns whose day must lie in the file's period.
        min_rows: fewest good rows a file may have.
        lag_days: the rows of a daily file describe the day this many days before the file's
            (delivery) day; the caller applies it (``validate`` takes the described period).
        file_format: ``csv``, ``parquet`` or ``jsonl``.
        delimiter: a CSV file's field separator.
        null_tokens: cell values that mean null (after reading, in every format).
        period_column: a date or datetime column whose value must lie in the file's period.
        period_format: strftime format of ``period_column`` as text (default: ISO 8601).
        timezone: IANA zone: naive timestamps are local times in it, those with an offset are
            converted into it; periods begin and end in it.

    """

    name: str
    columns: dict[str, pl.DataType]
    primary_key: tuple[str, ...]
    required: tuple[str, ...] = ()
    ranges: dict[str, tuple[float, float]] = field(default_factory=dict)
    date_columns: tuple[str, str, str] | None = None
    min_rows: int = 0
    lag_days: int = 0
    file_format: str = "csv"
    delimiter: str = ","
    null_tokens: tuple[str, ...] = NULL_TOKENS
    period_column: str | None = None
    period_format: str | None = None
    timezone: str = "UTC"


@dataclass(frozen=True)
class ValidatedFile:
    """The outcome of validating one landing file."""

    good: pl.DataFrame
    quarantine: pl.DataFrame
    extra_columns: list[str]


def _local(aware: pl.Expr, timezone: str) -> pl.Expr:
    """An instant as the naive local time in ``timezone``."""
    return aware.dt.convert_time_zone(timezone).dt.replace_time_zone(None)


def parse_moment(
    text: pl.Expr, dtype: pl.DataType, text_format: str | None, timezone: str
) -> pl.Expr:
    """Dates, or naive datetimes local to ``timezone``, from text; null where unreadable.

    Without ``text_format`` a value is read as ISO 8601 (``2016-07-02``, ``2016-07-02 10:00``,
    ``2016-07-02T10:00:00.5Z``, ``2016-07-02T10:00:00+02:00``). Naive text is a local time in
    ``timezone``; a time with an offset (or a literal ``Z`` closing ``text_format``) is converted
    into it.
    """
    if dtype == pl.Date:
        return text.str.to_date(text_format or ISO_DATE, strict=False)
    if text_format is not None:
        parsed = text.str.to_datetime(text_format, strict=False, time_unit="us")
        if any(d in text_format for d in ("%z", "%:z", "%#z")):
            return _local(parsed, timezone)
        if text_format.endswith("Z"):
            return _local(parsed.dt.replace_time_zone("UTC"), timezone)
        return parsed
    iso = text.str.replace(r"^(\d{4}-\d{2}-\d{2}) ", "${1}T").str.replace(r"[zZ]$", "+00:00")
    aware = [iso.str.to_datetime(f, strict=False, time_unit="us") for f in AWARE_FORMATS]
    naive = [iso.str.to_datetime(f, strict=False, time_unit="us") for f in NAIVE_FORMATS]
    return pl.coalesce(*(_local(a, timezone) for a in aware), *naive)


def _cast(name: str, dtype: pl.DataType, schema: SourceSchema, iso: bool = False) -> pl.Expr:
    """The typed value of a text column; null where the text is no such value.

    ``period_format`` is the text format of the period column unless ``iso``: the file stored
    the column typed, and its cells are ISO 8601.
    """
    text = pl.col(name).str.strip_chars()
    if dtype in (pl.Date, pl.Datetime):
        own = schema.period_format if name == schema.period_column and not iso else None
        return parse_moment(text, dtype, own, schema.timezone)
    if dtype == pl.Boolean:
        lowered = text.str.to_lowercase()
        return (
            pl.when(lowered.is_in(TRUE_TOKENS))
            .then(True)
            .when(lowered.is_in(FALSE_TOKENS))
            .then(False)
        )
    return text.cast(dtype, strict=False)


def _shown(period: Period) -> str:
    """A period for a reader: a day, a span of days, or a half-open span of times."""
    midnight = period.start.time() == period.end.time() == dt.time()
    if midnight and period.end - period.start == dt.timedelta(days=1):
        return period.first_day.isoformat()
    if midnight:
        return f"{period.first_day} to {period.last_day}"
    return f"[{period.start:%Y-%m-%d %H:%M}, {period.end:%Y-%m-%d %H:%M})"


def _period_rule(schema: SourceSchema, period: Period) -> pl.Expr | None:
    """The reason a row is dated outside ``period``; a day counts if the period touches it."""
    if schema.date_columns:
        y, m, d = (pl.col(f"__typed_{c}").cast(pl.String) for c in schema.date_columns)
        # built as text: a row with month 13 must get a reason, not break the build
        dated = pl.format("{}-{}-{}", y.str.zfill(4), m.str.zfill(2), d.str.zfill(2))
        day = dated.str.to_date(ISO_DATE, strict=False)
        outside = day.is_null() | ~day.is_between(period.first_day, period.last_day)
    elif schema.period_column and schema.columns[schema.period_column] == pl.Date:
        dated = pl.col(f"__typed_{schema.period_column}")
        outside = ~dated.is_between(period.first_day, period.last_day)
        dated = dated.dt.to_string(ISO_DATE)
    elif schema.period_column:
        moment = pl.col(f"__typed_{schema.period_column}")
        outside = ~moment.is_between(pl.lit(period.start), pl.lit(period.end), closed="left")
        dated = moment.dt.to_string("%Y-%m-%d %H:%M:%S")
    else:
        return None
    message = f"row is dated {{}}, outside this file's period {_shown(period)}"
    return pl.when(dated.is_not_null() & outside).then(pl.format(message, dated))


def _reasons(schema: SourceSchema, period: Period | None) -> list[pl.Expr]:
    """One expression per rule: the reason text where the row breaks it, else null."""
    rules = []
    for name, dtype in schema.columns.items():
        raw, typed = pl.col(name), pl.col(f"__typed_{name}")
        rules.append(
            pl.when(raw.is_not_null() & typed.is_null()).then(
                pl.format(f"{name}: cannot read '{{}}' as {dtype}", raw)
            )
        )
    for name in schema.required:
        rules.append(pl.when(pl.col(name).is_null()).then(pl.lit(f"{name}: required, missing")))
    for name, (low, high) in schema.ranges.items():
        typed = pl.col(f"__typed_{name}")
        rules.append(
            pl.when(~typed.is_between(low, high)).then(
                pl.format(f"{name}: {{}} outside [{low}, {high}]", typed)
            )
        )
    if period is not None and (rule := _period_rule(schema, period)) is not None:
        rules.append(rule)
    return rules


def _mark_duplicates(checked: pl.DataFrame, primary_key: tuple[str, ...]) -> pl.DataFrame:
    """Give every valid row after the first with the same key a duplicate reason.

    Duplicates are judged among valid rows only, so a broken first copy never hides a good one.
    """
    if not primary_key:
        return checked
    key = [f"__typed_{name}" for name in primary_key]
    first = (
        checked.filter(pl.col("reason").is_null())
        .group_by(key)
        .agg(pl.col("line").min().alias("__first"))
    )
    duplicate = pl.col("reason").is_null() & (pl.col("line") != pl.col("__first"))
    message = pl.format(f"duplicate of line {{}} on primary key {list(primary_key)}", "__first")
    return checked.join(first, on=key, how="left", nulls_equal=True).with_columns(
        pl.when(duplicate).then(message).otherwise("reason").alias("reason")
    )


def as_period(period: Period | dt.date | None) -> Period | None:
    """``period`` as a Period; a date means that day, [day, day + 1)."""
    if period is None or isinstance(period, Period):
        return period
    start = dt.datetime.combine(period, dt.time())
    return Period(start, start + dt.timedelta(days=1), start.date().isoformat())


def _checked(cells: Cells, schema: SourceSchema, period: Period | None) -> pl.DataFrame:
    """The file's rows with their typed values and every reason, in line order."""
    tokens = list(schema.null_tokens)
    frame = cells.frame.with_columns(
        pl.when(~pl.col(c).is_in(tokens)).then(pl.col(c)).alias(c)
        for c in cells.frame.columns
        if c != "line"
    )
    typed = frame.with_columns(
        _cast(name, dtype, schema, name in cells.typed).alias(f"__typed_{name}")
        for name, dtype in schema.columns.items()
    )
    checked = typed.with_columns(
        pl.concat_str(_reasons(schema, period), separator="; ", ignore_nulls=True).alias("reason")
    ).with_columns(pl.when(pl.col("reason") != "").then("reason").alias("reason"))
    return _mark_duplicates(checked, schema.primary_key).sort("line")


def validate(
    path: Path, schema: SourceSchema, period: Period | dt.date | None = None
) -> ValidatedFile:
    """Read one landing file and split it into typed good rows and quarantined rows.

    Args:
        path: the landing file, in the schema's ``file_format``.
        schema: the source's contract.
        period: the period the file's rows describe (any delivery lag already applied); rows
            dated outside it (by ``date_columns`` or ``period_column``) are quarantined. A date
            means that day. None (a snapshot): rows are not dated.

    Raises:
        LandingFileError: the file is unusable as a whole; nothing of it may be loaded.

    """
    period = as_period(period)
    cells = read_cells(path, schema)
    marked = _checked(cells, schema, period)
    good = marked.filter(pl.col("reason").is_null()).select(
        pl.col(f"__typed_{name}").alias(name) for name in schema.columns
    )
    if good.height < schema.min_rows:
        raise LandingFileError(
            f"landing file has {good.height} good rows, fewer than the {schema.min_rows} "
            f"a {schema.name} file must have: {path}"
        )
    bad = marked.filter(pl.col("reason").is_not_null())
    record_columns = [c for c in cells.frame.columns if c != "line"]
    rows = bad.select(
        "line", "reason", pl.struct(record_columns).struct.json_encode().alias("record")
    )
    quarantine = (
        pl.concat([rows, cells.apart])
        .sort("line")
        .select(
            pl.lit(schema.name).alias("source"),
            pl.lit(period and period.first_day, dtype=pl.Date).alias("_partition_date"),
            pl.lit(str(path)).alias("source_file"),
            "line",
            "reason",
            "record",
        )
    )
    return ValidatedFile(good=good, quarantine=quarantine, extra_columns=cells.extra)
