"""The fields of a landing source spec, each with its own constraint.

A ``Literal``, a pattern, ``ge``, or a field validator for what a constraint cannot say (a time
zone Polars knows). ``SourceSpec`` (lib/specs/source.py) adds the rules that tie fields together.
"""

import datetime as dt
import re
import zoneinfo
from typing import Literal, Self

import polars as pl
import pydantic
from pydantic import ConfigDict, Field

from factory_assets.lib.calendar import parse_moment
from factory_assets.lib.ingest import NULL_TOKENS
from factory_assets.lib.specs.errors import pattern, rule

TYPES: dict[str, pl.DataType] = {
    "int32": pl.Int32(),
    "int64": pl.Int64(),
    "float64": pl.Float64(),
    "string": pl.String(),
    "bool": pl.Boolean(),
    "date": pl.Date(),  # 2013-01-31
    "datetime": pl.Datetime("us"),  # ISO 8601: 2013-01-31T10:00:00Z, 2013-01-31 10:00, ...
}
NUMERIC = ("int32", "int64", "float64")
DATED = ("date", "datetime")  # the types a period_column may have
RESERVED = ("line", "reason")  # the validator's own columns (lib/ingest.py)
IDENTIFIER_RULE = "lowercase letters, digits and _, starting with a letter, at most 63 characters"
Identifier = pattern(r"^[a-z][a-z0-9_]{0,62}$", "an identifier", IDENTIFIER_RULE)
PATH_TEXT = re.compile(r"[A-Za-z0-9_.{}/-]+")
OWNER = re.compile(r"team:[A-Za-z0-9_-]+|[^@\s]+@[^@\s]+\.[^@\s]+")
# What a file name must hold to name its period, per grain (any one of the sets).
PERIOD_NAMES = {
    "hourly": ({"date", "hh"}, {"yyyy", "mm", "dd", "hh"}),
    "daily": ({"date"}, {"yyyy", "mm", "dd"}),
    "weekly": ({"date"}, {"yyyy", "mm", "dd"}),
    "monthly": ({"date"}, {"yyyy", "mm"}),
}
UNDATED = {"batch": "batch source", "snapshot": "snapshot"}  # grains without periods
SAMPLE = dt.datetime(2016, 7, 2, 10, 30, 45, tzinfo=dt.UTC)  # what a period_format must read back
Grain = Literal["hourly", "daily", "weekly", "monthly", "batch", "snapshot"]
ColumnType = Literal["int32", "int64", "float64", "string", "bool", "date", "datetime"]


class Range(pydantic.BaseModel):
    """Inclusive bounds of a number column."""

    model_config = ConfigDict(extra="forbid")

    min: int | float = Field(description="The lowest value allowed.")
    max: int | float = Field(description="The highest value allowed.")

    @pydantic.model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.min > self.max:
            raise rule(f"min {self.min} is above max {self.max}", "min <= max")
        return self


class SourceFields(pydantic.BaseModel):
    """A landing source's fields as its YAML writes them (``attributes`` of a LandingSource)."""

    model_config = ConfigDict(extra="forbid")

    name: Identifier = Field(description="Source name; the asset and table are raw_<name>.")
    description: str = Field(
        min_length=1, description="What the source holds (the asset's description)."
    )
    dataset: Identifier | None = Field(
        default=None,
        description="The sources landed and run together (its jobs and schedule); periodic "
        "sources of one dataset share a calendar, batch sources never join periodic ones. "
        "Default: the source's own name.",
    )
    grain: Grain = Field(
        description="One file per period (hourly, daily, weekly, monthly: a partition each), "
        "batch (one file per batch, no time axis: a dynamic partition each, found by the "
        "dataset's batch sensor) or snapshot (one file, swapped whole)."
    )
    start: str | None = Field(
        default=None,
        description="Periodic only: the first period, an ISO date (2016-07-02; a weekly "
        "calendar's weeks start on its weekday, a monthly one's on a 1st) or date and hour.",
    )
    end: str | None = Field(
        default=None,
        description="Periodic only: the last period; unset: open-ended, up to the current one.",
    )
    path: str = Field(
        description="Landing file below the landing root; a periodic one names its period with "
        "{date} or {yyyy}, {mm}, {dd} (and {hh} by the hour), e.g. "
        "flights/{yyyy}/{mm}/flights_{date}.csv; a batch one its batch with {batch} (letters, "
        "digits, _ . -; batches sort by it), e.g. customers/batch_{batch}.csv."
    )
    columns: dict[Identifier, ColumnType] = Field(
        min_length=1,
        description="Column -> type (int32, int64, float64, string, bool, date, datetime), "
        "in file order.",
    )
    primary_key: list[str] = Field(min_length=1, description="Columns that identify a row.")
    required: list[str] = Field(default_factory=list, description="Columns never null.")
    ranges: dict[str, Range] = Field(
        default_factory=dict, description="Column -> {min, max}, inclusive."
    )
    date_columns: list[str] | None = Field(
        default=None,
        description="Periodic only: [year, month, day] columns; the date lies in the rows' period.",
    )
    lag: int = Field(
        default=0,
        ge=0,
        description="Periodic or batch: a file's rows describe the period (batch) this many "
        "periods (batches) before the one it is delivered in (labels that land late).",
    )
    min_rows: int = Field(default=0, ge=0, description="Fewest good rows a usable file has.")
    owners: list[str] = Field(
        default_factory=lambda: ["team:data-platform"], description="Emails or team:<name>."
    )
    file_format: Literal["csv", "parquet", "jsonl"] = Field(
        default="csv",
        description="csv, parquet or jsonl (JSON Lines); the path ends in .csv, .parquet, "
        ".jsonl or .json to agree.",
    )
    delimiter: str = Field(
        default=",",
        description="CSV only: the one-character field separator, e.g. ';' or \"\\t\" (a tab).",
    )
    null_tokens: list[str] = Field(
        default_factory=lambda: list(NULL_TOKENS),
        description="Cell values that mean null, in every format.",
    )
    period_column: str | None = Field(
        default=None,
        description="Periodic only: a date or datetime column whose value must lie in the "
        "file's period (instead of date_columns).",
    )
    period_format: str | None = Field(
        default=None,
        description="strftime format of period_column's text, e.g. %d/%m/%Y (default: ISO 8601).",
    )
    timezone: str = Field(
        default="UTC",
        description="IANA time zone: naive timestamps are read in it, those with an offset "
        "converted into it; periods begin and end in it.",
    )

    @pydantic.field_validator("description")
    @classmethod
    def _text(cls, value: str) -> str:
        if not value.strip():
            raise rule(f"{value!r}", "a non-empty text")
        return value.strip()

    @pydantic.field_validator("start", "end", mode="before")
    @classmethod
    def _moment(cls, value: object) -> object:
        text = value.isoformat() if isinstance(value, dt.date) else value
        try:
            return None if value is None else parse_moment(text).isoformat(sep=" ")
        except (TypeError, ValueError):
            raise rule(f"{value!r}", "an ISO date (2016-07-02) or date and hour") from None

    @pydantic.field_validator("path")
    @classmethod
    def _below_root(cls, value: str) -> str:
        if not PATH_TEXT.fullmatch(value) or value.startswith("/") or ".." in value.split("/"):
            raise rule(f"{value!r}", "a path below the landing root of letters, digits, _ . - / "
                       "and placeholders, without '..'")  # fmt: skip
        return value

    @pydantic.field_validator("null_tokens", mode="before")
    @classmethod
    def _texts(cls, value: object) -> object:
        if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
            raise rule(f"{value!r}", "a list of texts (quote numbers: '-999')")
        return value

    @pydantic.field_validator("delimiter")
    @classmethod
    def _one_character(cls, value: str) -> str:
        if len(value) != 1 or value in '\r\n"':
            raise rule(f"{value!r}", "one character other than a line end or a double quote, "
                       "e.g. ';' or a tab")  # fmt: skip
        return value

    @pydantic.field_validator("owners")
    @classmethod
    def _owners(cls, value: list[str]) -> list[str]:
        if not all(OWNER.fullmatch(o) for o in value):
            raise rule(f"{value!r}", "a list of emails or team:<name>")
        return value or ["team:data-platform"]

    @pydantic.field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        try:
            zoneinfo.ZoneInfo(value)
            pl.Series([SAMPLE.replace(tzinfo=None)]).dt.replace_time_zone(value)  # Polars' too
        except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError, pl.exceptions.PolarsError):
            raise rule(f"{value!r} is not a time zone",
                       "an IANA name, e.g. UTC, America/Chicago") from None  # fmt: skip
        return value
