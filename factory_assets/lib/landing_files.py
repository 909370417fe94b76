"""Landing files of every format read into text cells, the one shape lib/ingest.py validates.

A CSV, Parquet or JSON Lines file becomes a frame of strings, one column per field as a CSV's
cells are, with each record's 1-based ``line`` (a Parquet file's row number); the records that
cannot be aligned to columns (a ragged CSV row, a JSONL line that is not a JSON object) are set
apart whole with their reason. A file that cannot be trusted as a whole (missing, empty,
truncated, not of its format, missing columns) raises LandingFileError.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

if TYPE_CHECKING:
    from factory_assets.lib.ingest import SourceSchema

EXTENSIONS = {"csv": (".csv",), "parquet": (".parquet",), "jsonl": (".jsonl", ".json")}
LABELS = {"csv": "CSV", "parquet": "Parquet", "jsonl": "JSON Lines"}
ISO_DATE, ISO_DATETIME = "%Y-%m-%d", "%Y-%m-%dT%H:%M:%S%.f"
APART = {"line": pl.Int64, "reason": pl.String, "record": pl.String}


class LandingFileError(ValueError):
    """A landing file that is unusable as a whole; the message says why."""


@dataclass(frozen=True)
class Cells:
    """A landing file as text cells.

    Attributes:
        frame: one string column per field of the file, plus ``line`` (Int64).
        apart: records that fit no column (``line``, ``reason``, ``record`` as written).
        extra: the file's columns the contract does not name, in file order.
        typed: columns the file stored as dates or datetimes, written here as ISO 8601 (read
            back as such, whatever ``period_format`` says text is written as).

    """

    frame: pl.DataFrame
    apart: pl.DataFrame
    extra: list[str]
    typed: frozenset[str] = frozenset()


def read_cells(path: Path, schema: SourceSchema) -> Cells:
    """The file's cells, read by the source's ``file_format``; LandingFileError if unusable."""
    if schema.file_format == "parquet":
        return read_parquet(path, schema)
    text = read_text(path, schema.file_format)
    if schema.file_format == "jsonl":
        return parse_jsonl(text, path, schema)
    return parse_csv(text, path, schema)


def read_text(path: Path, file_format: str = "csv") -> str:
    """The file's text, without a byte-order mark.

    Raises:
        LandingFileError: the file is missing, empty, binary, not UTF-8 or truncated.

    """
    payload = _payload(path)
    if b"\x00" in payload:
        raise LandingFileError(
            f"landing file holds binary data (NUL bytes), not {LABELS[file_format]}: {path}"
        )
    try:
        text = payload.decode("utf-8-sig")  # a leading BOM is not part of the first column name
    except UnicodeDecodeError as err:
        raise LandingFileError(f"landing file is not UTF-8 text ({err.reason}): {path}") from err
    if not text.endswith("\n"):
        raise LandingFileError(f"landing file is truncated: its last line has no line end: {path}")
    return text


def _payload(path: Path) -> bytes:
    if not path.is_file():
        raise LandingFileError(f"landing file is missing: {path}")
    payload = path.read_bytes()
    if not payload.strip():
        raise LandingFileError(f"landing file is empty ({len(payload)} bytes): {path}")
    return payload


def check_columns(names: list[str], path: Path, schema: SourceSchema) -> list[str]:
    """The extra column names; LandingFileError if a contract column is missing."""
    missing = [name for name in schema.columns if name not in names]
    if len(missing) == len(schema.columns):
        raise LandingFileError(f"landing file has no recognisable {schema.name} header: {path}")
    if missing:
        raise LandingFileError(f"landing file lacks required columns {missing}: {path}")
    return [name for name in names if name not in schema.columns]


def _field_count(line: str, delimiter: str) -> int:
    """Fields in one CSV line; a field beyond the csv module's size limit is counted by Polars."""
    try:
        return len(next(csv.reader([line], delimiter=delimiter), []))
    except csv.Error:
        return pl.read_csv(
            line.encode(), has_header=False, infer_schema=False, separator=delimiter
        ).width


def parse_csv(text: str, path: Path, schema: SourceSchema) -> Cells:
    """Cells of a CSV file: the header is checked first; ragged rows are set apart.

    Rows whose field count differs from the header's cannot be aligned to columns, so they are
    set apart whole (as the raw line) rather than guessed at.
    """
    lines, delimiter = text.splitlines(keepends=True), schema.delimiter
    try:
        header = next(csv.reader(lines[:1], delimiter=delimiter))
    except csv.Error as err:
        raise LandingFileError(f"landing file's header is not valid CSV ({err}): {path}") from err
    extra = check_columns(header, path, schema)
    kept, kept_lines, ragged = [lines[0]], [], []
    for number, line in enumerate(lines[1:], start=2):
        try:
            fields = _field_count(line, delimiter)
        except pl.exceptions.PolarsError as err:
            ragged.append((number, f"row is not valid CSV ({str(err).splitlines()[0]})", line))
            continue
        if fields == len(header):
            kept.append(line)
            kept_lines.append(number)
        elif line.strip():
            ragged.append((number, f"row has {fields} fields, the header has {len(header)}", line))
    try:
        frame = pl.read_csv(
            "".join(kept).encode(),
            separator=delimiter,
            infer_schema=False,
            empty_string_is_null=False,  # null_tokens say what is null, in every format
            raise_if_empty=False,
        )
    except pl.exceptions.PolarsError as err:
        first_line = str(err).splitlines()[0]
        raise LandingFileError(f"landing file is not valid CSV ({first_line}): {path}") from err
    frame = frame.with_columns(pl.Series("line", kept_lines, dtype=pl.Int64))
    return Cells(frame, pl.DataFrame(ragged, schema=APART, orient="row"), extra)


def _json_text(value: object) -> str | None:
    """A JSON value as a CSV cell would hold it; objects and arrays stay JSON."""
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)  # true/false, numbers as written, nested JSON


def parse_jsonl(text: str, path: Path, schema: SourceSchema) -> Cells:
    """Cells of a JSON Lines file: one object per line, its keys the columns.

    Each line is decoded on its own, so a line that is not a JSON object is set apart with its
    reason and the other lines are kept. A key missing from a line is null there; a contract
    column missing from every line makes the file unusable, as a CSV header without it would.
    """
    records, numbers, apart, names = [], [], [], {}
    # split on line ends only: a JSON string may hold U+2028, which str.splitlines splits at
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as err:
            apart.append((number, f"line is not valid JSON ({err.msg}, column {err.colno})", line))
            continue
        if not isinstance(value, dict):
            apart.append((number, f"line is a JSON {type(value).__name__}, not an object", line))
            continue
        records.append(value)
        numbers.append(number)
        names.update(dict.fromkeys(value))
    if not records:
        raise LandingFileError(
            f"landing file is not JSON Lines (line {apart[0][0]}: {apart[0][1]}): {path}"
        )
    extra = check_columns(list(names), path, schema)
    columns = {name: [_json_text(r.get(name)) for r in records] for name in names}
    frame = pl.DataFrame(columns, schema=dict.fromkeys(names, pl.String))
    frame = frame.with_columns(pl.Series("line", numbers, dtype=pl.Int64))
    return Cells(frame, pl.DataFrame(apart, schema=APART, orient="row"), extra)


def _temporal_text(series: pl.Series) -> pl.Series:
    """A Parquet date or datetime column as ISO 8601 text; an aware one keeps its offset."""
    if series.dtype == pl.Date:
        return series.dt.to_string(ISO_DATE)
    aware = series.dtype.time_zone is not None
    return series.dt.to_string(ISO_DATETIME + ("%:z" if aware else ""))


def _as_text(series: pl.Series) -> pl.Series:
    """Any other Parquet column as text: nested values as JSON, the rest as Polars casts."""
    if series.dtype.is_nested():
        encoded = [None if v is None else json.dumps(v, default=str) for v in series.to_list()]
        return pl.Series(series.name, encoded, dtype=pl.String)
    try:
        return series.cast(pl.String, strict=False)
    except pl.exceptions.PolarsError:  # a type Polars cannot cast to text
        texts = [None if v is None else str(v) for v in series.to_list()]
        return pl.Series(series.name, texts, dtype=pl.String)


def read_parquet(path: Path, schema: SourceSchema) -> Cells:
    """Cells of a Parquet file, every column written as text.

    A typed column of the wrong type is so judged (and quarantined) by the same rules as a CSV
    cell; a file Polars cannot read raises LandingFileError.
    """
    if not path.is_file():
        raise LandingFileError(f"landing file is missing: {path}")
    if path.stat().st_size == 0:
        raise LandingFileError(f"landing file is empty (0 bytes): {path}")
    try:
        typed = pl.read_parquet(path)
    except (pl.exceptions.PolarsError, OSError, pl.exceptions.PanicException) as err:
        first_line = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise LandingFileError(f"landing file is not valid Parquet ({first_line}): {path}") from err
    extra = check_columns(typed.columns, path, schema)
    temporal = {c for c in typed.columns if typed[c].dtype in (pl.Date, pl.Datetime)}
    cells = [(_temporal_text if c in temporal else _as_text)(typed[c]) for c in typed.columns]
    frame = pl.DataFrame(cells).with_columns(
        pl.int_range(1, typed.height + 1, dtype=pl.Int64).alias("line")
    )
    return Cells(frame, pl.DataFrame(schema=APART), extra, frozenset(temporal))
