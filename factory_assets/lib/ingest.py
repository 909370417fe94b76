"""Validation of landing files: typed good rows out, bad rows quarantined with a reason.

A file that cannot be trusted as a whole (missing, empty, truncated, not CSV, missing columns)
raises LandingFileError and nothing of it is loaded. Within a readable file, each row that fails
a type, range, required-value, date or primary-key rule goes to quarantine with every reason it
failed; all other rows are kept.
"""

import csv
import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%SZ"  # upstream writes UTC instants like 2013-01-01T10:00:00Z
DATE_FORMAT = "%Y-%m-%d"
TRUE_TOKENS, FALSE_TOKENS = ["true", "1"], ["false", "0"]  # booleans, any letter case
NULL_TOKENS = ["NA", ""]


class LandingFileError(ValueError):
    """A landing file that is unusable as a whole; the message says why."""


@dataclass(frozen=True)
class SourceSchema:
    """The contract of one landing source.

    Attributes:
        name: source name, e.g. ``flights``; the raw table is ``raw_<name>``.
        columns: expected column -> Polars dtype, in file order.
        primary_key: columns that identify a row; later duplicates are quarantined.
        required: columns that must not be null.
        ranges: column -> inclusive (low, high) bounds.
        date_columns: (year, month, day) columns that must equal the file's day, if daily.
        min_rows: fewest good rows a file may have.
        lag_days: the rows of a daily file describe the day this many days before the file's
            (delivery) day, e.g. 1 for outcomes delivered the day after the flights.

    """

    name: str
    columns: dict[str, pl.DataType]
    primary_key: tuple[str, ...]
    required: tuple[str, ...] = ()
    ranges: dict[str, tuple[float, float]] = field(default_factory=dict)
    date_columns: tuple[str, str, str] | None = None
    min_rows: int = 0
    lag_days: int = 0


@dataclass(frozen=True)
class ValidatedFile:
    """The outcome of validating one landing file."""

    good: pl.DataFrame
    quarantine: pl.DataFrame
    extra_columns: list[str]


def read_text(path: Path) -> str:
    """The file's text, or LandingFileError if it is missing, empty, binary or truncated."""
    if not path.is_file():
        raise LandingFileError(f"landing file is missing: {path}")
    payload = path.read_bytes()
    if not payload.strip():
        raise LandingFileError(f"landing file is empty ({len(payload)} bytes): {path}")
    if b"\x00" in payload:
        raise LandingFileError(f"landing file holds binary data (NUL bytes), not CSV: {path}")
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError as err:
        raise LandingFileError(f"landing file is not UTF-8 text ({err.reason}): {path}") from err
    if not text.endswith("\n"):
        raise LandingFileError(f"landing file is truncated: its last line has no line end: {path}")
    return text


def parse_csv(
    text: str, path: Path, schema: SourceSchema
) -> tuple[pl.DataFrame, pl.DataFrame, list[str]]:
    """Cells as strings with their 1-based file line, ragged rows apart, extra column names.

    The header is checked first. Rows whose field count differs from the header's cannot be
    aligned to columns, so they are set apart whole (as the raw line) rather than guessed at.
    """
    lines = text.splitlines(keepends=True)
    header = next(csv.reader(lines[:1]))
    missing = [name for name in schema.columns if name not in header]
    if len(missing) == len(schema.columns):
        raise LandingFileError(f"landing file has no recognisable {schema.name} header: {path}")
    if missing:
        raise LandingFileError(f"landing file lacks required columns {missing}: {path}")
    kept, kept_lines, ragged = [lines[0]], [], []
    for number, line in enumerate(lines[1:], start=2):
        fields = len(next(csv.reader([line]), []))
        if fields == len(header):
            kept.append(line)
            kept_lines.append(number)
        elif line.strip():
            ragged.append((number, f"row has {fields} fields, the header has {len(header)}", line))
    try:
        frame = pl.read_csv(
            "".join(kept).encode(),
            infer_schema=False,
            null_values=NULL_TOKENS,
            raise_if_empty=False,
        )
    except pl.exceptions.PolarsError as err:
        first_line = str(err).splitlines()[0]
        raise LandingFileError(f"landing file is not valid CSV ({first_line}): {path}") from err
    frame = frame.with_columns(pl.Series("line", kept_lines, dtype=pl.Int64))
    ragged_frame = pl.DataFrame(
        ragged, schema={"line": pl.Int64, "reason": pl.String, "record": pl.String}, orient="row"
    )
    extra = [name for name in header if name not in schema.columns]
    return frame, ragged_frame, extra


def _cast(name: str, dtype: pl.DataType) -> pl.Expr:
    text = pl.col(name).str.strip_chars()
    if dtype == pl.Datetime:
        return text.str.to_datetime(TIMESTAMP_FORMAT, strict=False)
    if dtype == pl.Date:
        return text.str.to_date(DATE_FORMAT, strict=False)
    if dtype == pl.Boolean:
        lowered = text.str.to_lowercase()
        return (
            pl.when(lowered.is_in(TRUE_TOKENS))
            .then(True)
            .when(lowered.is_in(FALSE_TOKENS))
            .then(False)
        )
    return text.cast(dtype, strict=False)


def _reasons(schema: SourceSchema, day: dt.date | None) -> list[pl.Expr]:
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
    if schema.date_columns and day is not None:
        day = day - dt.timedelta(days=schema.lag_days)
        y, m, d = (pl.col(f"__typed_{c}") for c in schema.date_columns)
        # compared part by part: a row with month 13 must get a reason, not break the build
        other_day = (y != day.year) | (m != day.month) | (d != day.day)
        shown = pl.format(
            "{}-{}-{}", y, m.cast(pl.String).str.zfill(2), d.cast(pl.String).str.zfill(2)
        )
        rules.append(
            pl.when(other_day).then(
                pl.format(f"row is dated {{}}, not this file's day {day}", shown)
            )
        )
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


def validate(path: Path, schema: SourceSchema, day: dt.date | None = None) -> ValidatedFile:
    """Read one landing file and split it into typed good rows and quarantined rows.

    Args:
        path: the landing file.
        schema: the source's contract.
        day: the file's day for daily sources; rows dated otherwise are quarantined.

    Raises:
        LandingFileError: the file is unusable as a whole; nothing of it may be loaded.

    """
    frame, ragged, extra = parse_csv(read_text(path), path, schema)
    names = list(schema.columns)
    typed = frame.with_columns(
        _cast(name, dtype).alias(f"__typed_{name}") for name, dtype in schema.columns.items()
    )
    checked = typed.with_columns(
        pl.concat_str(_reasons(schema, day), separator="; ", ignore_nulls=True).alias("reason")
    ).with_columns(pl.when(pl.col("reason") != "").then("reason").alias("reason"))
    marked = _mark_duplicates(checked, schema.primary_key).sort("line")
    good = marked.filter(pl.col("reason").is_null()).select(
        pl.col(f"__typed_{name}").alias(name) for name in names
    )
    if good.height < schema.min_rows:
        raise LandingFileError(
            f"landing file has {good.height} good rows, fewer than the {schema.min_rows} "
            f"a {schema.name} file must have: {path}"
        )
    bad = marked.filter(pl.col("reason").is_not_null())
    record_columns = [c for c in frame.columns if c != "line"]
    rows = bad.select(
        "line", "reason", pl.struct(record_columns).struct.json_encode().alias("record")
    )
    quarantine = (
        pl.concat([rows, ragged])
        .sort("line")
        .select(
            pl.lit(schema.name).alias("source"),
            pl.lit(day, dtype=pl.Date).alias("_partition_date"),
            pl.lit(str(path)).alias("source_file"),
            "line",
            "reason",
            "record",
        )
    )
    return ValidatedFile(good=good, quarantine=quarantine, extra_columns=extra)
