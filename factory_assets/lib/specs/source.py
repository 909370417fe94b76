"""A landing source spec: its fields (source_fields.py) and the rules that tie them together.

Each rule is a validator of ``SourceSpec``, run in the order the fields are written, raising at
the first break with the field it is about; any break reads as
``<file:line>: <field>: <problem>; allowed: ...`` (lib/specs/errors.py).
"""

from functools import cached_property
from typing import Self

import polars as pl
import pydantic

from factory_assets.lib.calendar import GRAINS as PERIOD_GRAINS
from factory_assets.lib.calendar import Calendar, parse_moment
from factory_assets.lib.ingest import SourceSchema
from factory_assets.lib.ingest import parse_moment as read_moment
from factory_assets.lib.landing_files import EXTENSIONS
from factory_assets.lib.specs.errors import listing, rule
from factory_assets.lib.specs.landing import PLACEHOLDERS, LandingFiles, placeholders
from factory_assets.lib.specs.source_fields import (
    DATED,
    NUMERIC,
    PERIOD_NAMES,
    RESERVED,
    SAMPLE,
    TYPES,
    UNDATED,
    SourceFields,
)


class SourceSpec(LandingFiles, SourceFields):
    """One landing source as its YAML declares it; ``schema`` is its files' contract."""

    _where: str = pydantic.PrivateAttr(default="")

    @pydantic.model_validator(mode="after")
    def _path_names_its_files(self) -> Self:
        value, grain, endings = self.path, self.grain, EXTENSIONS[self.file_format]
        at = ("path",)
        if not value.endswith(endings):
            allowed = f"a path ending in {' or '.join(endings)} (file_format {self.file_format})"
            raise rule(f"{value!r}", allowed, at=at)
        fields = _placeholders(value)
        if grain == "batch" and fields != ["batch"]:
            raise rule(f"{value!r} does not name its batch once, but the source is batch",
                       "a path with {batch} once and no other placeholder, e.g. "
                       "customers/batch_{batch}.csv", at=at)  # fmt: skip
        if grain != "batch" and "batch" in fields:
            raise rule(f"{value!r} names a batch, but the source is {grain}",
                       "{batch} only on a batch source", at=at)  # fmt: skip
        names = PERIOD_NAMES.get(grain, ())
        if names and not any(needed <= set(fields) for needed in names):
            order = list(PLACEHOLDERS).index
            needs = " or ".join(", ".join(f"{{{n}}}" for n in sorted(s, key=order)) for s in names)
            raise rule(f"{value!r} names no period, but the source is {grain}",
                       f"a path with {needs}", at=at)  # fmt: skip
        if grain == "snapshot" and fields:
            raise rule(f"{value!r} names a period, but a snapshot is one file", "no placeholders",
                       at=at)  # fmt: skip
        return self

    @pydantic.model_validator(mode="after")
    def _columns_declared(self) -> Self:
        for name in self.columns:
            if name in RESERVED:
                raise rule("the name is reserved", f"any but {listing(RESERVED)}",
                           at=("columns", name))  # fmt: skip
        for field in ("primary_key", "required", "date_columns"):
            names = getattr(self, field) or []
            for name in names:
                if name not in self.columns:
                    raise rule(f"{name!r} is not a declared column", listing(self.columns),
                               at=(field,))  # fmt: skip
            if len(set(names)) < len(names):
                raise rule(f"a column is listed twice in {names}", "each column once", at=(field,))
        numeric = listing(c for c, kind in self.columns.items() if kind in NUMERIC)
        for name in self.ranges:
            if self.columns.get(name) not in NUMERIC:
                what = (
                    f"a {self.columns[name]}" if name in self.columns else "not a declared column"
                )
                raise rule(f"{name!r} is {what}", f"the number columns {numeric}",
                           at=("ranges", name))  # fmt: skip
        return self

    @pydantic.model_validator(mode="after")
    def _date_columns(self) -> Self:
        if self.date_columns is None:
            return self
        if self.grain in UNDATED:
            raise rule(f"a {UNDATED[self.grain]} has no file period", "unset", at=("date_columns",))
        kinds = [self.columns[n] for n in self.date_columns]
        if len(kinds) != 3 or any(kind not in ("int32", "int64") for kind in kinds):
            raise rule(f"{self.date_columns}", "three int columns: year, month, day",
                       at=("date_columns",))  # fmt: skip
        return self

    @pydantic.model_validator(mode="after")
    def _reading(self) -> Self:
        if "delimiter" in self.model_fields_set and self.file_format != "csv":
            raise rule(f"a {self.file_format} file has no delimiter", "unset (csv only)",
                       at=("delimiter",))  # fmt: skip
        column, columns, at = self.period_column, self.columns, ("period_column",)
        if column is not None:
            if self.grain in UNDATED:
                raise rule(f"a {UNDATED[self.grain]} has no period", "unset", at=at)
            if columns.get(column) not in DATED:
                what = f"a {columns[column]}" if column in columns else "not a declared column"
                dated = listing(c for c in columns if columns[c] in DATED) or "(none declared)"
                raise rule(f"{column!r} is {what}", f"a date or datetime column: {dated}", at=at)
            if self.date_columns is not None:
                raise rule("set together with date_columns",
                           "one of period_column and date_columns", at=at)  # fmt: skip
        text, at = self.period_format, ("period_format",)
        if text is not None and column is None:
            raise rule("set without a period_column", "unset, or a period_column", at=at)
        allowed = "a strftime format with %Y, %m (or %b) and %d, e.g. '%d/%m/%Y'"
        if text is not None and "%Y" not in text:
            raise rule(f"{text!r}", allowed, at=at)
        if text is not None and not _reads_back(text, TYPES[columns[column]]):
            raise rule(f"{text!r} does not read back the day it writes ({SAMPLE.date()})",
                       allowed, at=at)  # fmt: skip
        return self

    @pydantic.model_validator(mode="after")
    def _periods(self) -> Self:
        grain = self.grain
        if grain == "snapshot" and self.lag:
            raise rule("a snapshot has no file period", "0 or unset", at=("lag",))
        if grain in UNDATED:
            for field in ("start", "end"):
                if getattr(self, field) is not None:
                    raise rule(f"a {UNDATED[grain]} has no periods", "unset", at=(field,))
            return self
        if self.start is None:
            raise rule(f"missing; a {grain} source names its first period", "an ISO date",
                       at=("start",))  # fmt: skip
        start = parse_moment(self.start)
        end = None if self.end is None else parse_moment(self.end)
        allowed = {"hourly": "a whole hour", "monthly": "a month's first day"}.get(grain, "a date")
        try:
            calendar = Calendar(grain, start, None, self.timezone)
        except ValueError:
            raise rule(f"{start} does not start a {grain} period", allowed, at=("start",)) from None
        if end is not None and calendar.period_of(end).start != end:
            if grain == "weekly":
                allowed = f"a {start:%A}, as the weeks start on start's weekday"
            raise rule(f"{end} does not start a {grain} period", allowed, at=("end",))
        if end is not None and end < start:
            raise rule(f"{end} is before start {start}", "start <= end", at=("end",))
        return self

    @pydantic.model_validator(mode="after")
    def _dataset(self) -> Self:
        self.dataset = self.dataset or self.name  # a source alone is its own dataset
        return self

    @property
    def where(self) -> str:
        """Where the spec is written (``file:line``), as its loader said; else empty."""
        return self._where

    def located(self, where: str) -> Self:
        """The spec, knowing where it is written (for messages that name two specs)."""
        self._where = where
        return self

    @cached_property
    def calendar(self) -> Calendar | None:
        """The periods of a periodic source (None for a batch source or a snapshot)."""
        if self.grain not in PERIOD_GRAINS:
            return None
        end = None if self.end is None else parse_moment(self.end)
        return Calendar(self.grain, parse_moment(self.start), end, self.timezone)

    @cached_property
    def schema(self) -> SourceSchema:
        """The contract every landing file is validated against."""
        return SourceSchema(
            name=self.name,
            columns={column: TYPES[kind] for column, kind in self.columns.items()},
            primary_key=tuple(self.primary_key),
            required=tuple(self.required),
            ranges={c: (r.min, r.max) for c, r in self.ranges.items()},
            date_columns=tuple(self.date_columns) if self.date_columns else None,
            lag_days=self.lag,
            min_rows=self.min_rows,
            file_format=self.file_format,
            delimiter=self.delimiter,
            null_tokens=tuple(self.null_tokens),
            period_column=self.period_column,
            period_format=self.period_format,
            timezone=self.timezone,
        )


def _reads_back(text_format: str, dtype: pl.DataType) -> bool:
    """Whether ``text_format`` writes SAMPLE as text that ingest reads back to the same day."""
    try:
        text = pl.Series([SAMPLE]).dt.to_string(text_format)
        value = pl.select(read_moment(pl.lit(text[0]), dtype, text_format, "UTC")).item()
    except (pl.exceptions.PolarsError, ValueError):
        return False
    return value is not None and (value if dtype == pl.Date else value.date()) == SAMPLE.date()


def _placeholders(value: str) -> list[str]:
    """The placeholders of a path, or the rule it breaks (a lone brace, an unknown name)."""
    allowed = listing(f"{{{name}}}" for name in PLACEHOLDERS)
    try:
        found = placeholders(value)
    except ValueError as err:
        raise rule(f"{value!r}: {err}", allowed, at=("path",)) from None
    for field in found:
        if field not in PLACEHOLDERS:
            raise rule(f"unknown placeholder {{{field}}}", allowed, at=("path",))
    return found
