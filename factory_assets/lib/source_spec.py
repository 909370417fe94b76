"""The rules of a landing source spec, and the spec they build.

A spec is the ``attributes`` of a ``LandingSource`` in a defs.yaml (see lib/sources.py for where
they are read). ``parse_spec`` checks every rule in the order the fields are written and raises
SourceSpecError at the first break, naming the file, the field and what is allowed.
"""

import datetime as dt
import re
import string
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from factory_assets.lib import calendar as calendars
from factory_assets.lib.calendar import GRAINS as PERIOD_GRAINS
from factory_assets.lib.calendar import Calendar, Period
from factory_assets.lib.ingest import NULL_TOKENS, SourceSchema, parse_moment
from factory_assets.lib.landing_files import EXTENSIONS

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
GRAINS = (*PERIOD_GRAINS, "batch", "snapshot")
BATCH_KEY = re.compile(r"[A-Za-z0-9_.-]+")  # a batch's name in its file's path; keys sort as text
PLACEHOLDERS = {
    "yyyy": r"\d{4}",
    "mm": r"\d{2}",
    "dd": r"\d{2}",
    "hh": r"\d{2}",
    "date": r"\d{4}-\d{2}-\d{2}",
    "batch": BATCH_KEY.pattern,
}
# What a file name must hold to name its period, per grain (any one of the sets).
PERIOD_NAMES = {
    "hourly": ({"date", "hh"}, {"yyyy", "mm", "dd", "hh"}),
    "daily": ({"date"}, {"yyyy", "mm", "dd"}),
    "weekly": ({"date"}, {"yyyy", "mm", "dd"}),
    "monthly": ({"date"}, {"yyyy", "mm"}),
}
IDENTIFIER = re.compile(r"[a-z][a-z0-9_]{0,62}")
IDENTIFIER_RULE = "lowercase letters, digits and _, starting with a letter, at most 63 characters"
PATH_TEXT = re.compile(r"[A-Za-z0-9_.{}/-]+")
RESERVED = ("line", "reason")  # the validator's own columns (lib/ingest.py)
OWNER = re.compile(r"team:[A-Za-z0-9_-]+|[^@\s]+@[^@\s]+\.[^@\s]+")
DEFAULT_OWNERS = ("team:data-platform",)
REQUIRED_FIELDS = ("name", "description", "grain", "path", "columns", "primary_key")
READING_FIELDS = ("file_format", "delimiter", "null_tokens", "period_column", "period_format")
READING_FIELDS += ("timezone",)  # how a file is read and its rows dated (_Rules.reading)
CALENDAR_FIELDS = ("dataset", "start", "end", "lag")  # its periods (_Rules.calendar)
OPTIONAL_FIELDS = ("required", "ranges", "date_columns", "min_rows", "owners")
OPTIONAL_FIELDS += CALENDAR_FIELDS + READING_FIELDS
# grains without periods (no start, end or period rules), as a message names them
UNDATED = {"batch": "batch source", "snapshot": "snapshot"}
DATED = ("date", "datetime")  # the types a period_column may have
SAMPLE = dt.datetime(2016, 7, 2, 10, 30, 45, tzinfo=dt.UTC)  # what a period_format must read back


class SourceSpecError(ValueError):
    """A source spec that breaks a rule; the message names the file, the field and the rule."""

    def __init__(self, file: Path | str, field: str, problem: str) -> None:
        self.file, self.field, self.problem = str(file), field, problem
        super().__init__(f"bad source spec {self.file}: {field}: {problem}")


@dataclass(frozen=True)
class SourceSpec:
    """One landing source as its YAML declares it.

    Attributes:
        schema: the contract every landing file is validated against.
        description: the asset's description.
        grain: ``hourly``, ``daily``, ``weekly``, ``monthly`` (one file per period, one
            partition each), ``batch`` (one file per batch, a dynamic partition each, no time
            axis) or ``snapshot`` (one file, swapped in whole).
        path: the landing file below the landing root; a periodic one names its (delivery)
            period with ``{date}`` or ``{yyyy}``, ``{mm}``, ``{dd}`` (and ``{hh}`` by the hour),
            a batch one its batch with ``{batch}`` (letters, digits, ``_ . -``).
        owners: the asset's owners.
        file: the YAML file the spec came from.
        dataset: the sources landed and run together (jobs and schedules are per dataset).
        calendar: the periods of a periodic source (None for a batch source or a snapshot).
        lag: the rows of a file describe the period (batch) this many periods (batches) before
            the file's.

    """

    schema: SourceSchema
    description: str
    grain: str
    path: str
    owners: tuple[str, ...]
    file: Path
    dataset: str = ""
    calendar: Calendar | None = None
    lag: int = 0

    @property
    def name(self) -> str:
        """The source's name; its raw table is ``raw_<name>``."""
        return self.schema.name

    @property
    def batched(self) -> bool:
        """Whether the source lands one file per batch (``grain: batch``)."""
        return self.grain == "batch"

    def batch_file(self, landing_dir: Path, batch: str) -> Path:
        """The landing file of batch ``batch`` of a batch source."""
        if not self.batched or not BATCH_KEY.fullmatch(batch):
            raise ValueError(f"{self.name}: {batch!r} names no batch of a batch source")
        return landing_dir / self.path.format(batch=batch)

    def landed_batches(self, landing_dir: Path) -> list[str]:
        """The batches of a batch source with a file in ``landing_dir``, sorted by key."""
        regex, batches = _path_regex(self.path), set()
        for path in landing_dir.glob(self.path.format(batch="*")):
            match = re.fullmatch(regex, path.relative_to(landing_dir).as_posix())
            if match and path.is_file():
                batches.add(match["batch"])
        return sorted(batches)

    def period(self, when: Period | dt.date | str) -> Period:
        """The calendar's period of a partition key, a date, or a period itself."""
        if self.calendar is None:
            raise ValueError(f"{self.name} is a snapshot: it has no periods")
        if isinstance(when, Period):
            return when
        if isinstance(when, str):
            return self.calendar.period(when)
        return self.calendar.period_of(when)

    def described(self, delivered: Period) -> Period:
        """The period the rows of the file delivered in ``delivered`` describe (the lag back)."""
        return self.calendar.shift(delivered, -self.lag)

    def landing_file(self, landing_dir: Path, when: Period | dt.date | str | None = None) -> Path:
        """The landing file of a period (a periodic source), a batch, or the snapshot's (None)."""
        if self.batched:
            return self.batch_file(landing_dir, str(when))
        if self.calendar is not None and when is None:
            raise ValueError(
                f"{self.name} is a {self.grain} source: its landing file needs a period"
            )
        parts = {} if when is None else _parts(self.period(when))
        return landing_dir / self.path.format(**parts)

    def landed_periods(self, landing_dir: Path) -> list[Period]:
        """The periods for which a periodic source has a file in ``landing_dir``, sorted."""
        glob = self.path.format(**dict.fromkeys(_placeholders(self.path), "*"))
        regex, periods = _path_regex(self.path), set()
        for path in landing_dir.glob(glob):
            match = re.fullmatch(regex, path.relative_to(landing_dir).as_posix())
            parts = match.groupdict() if match else {}
            try:
                day = parts.get("date") or f"{parts['yyyy']}-{parts['mm']}-{parts.get('dd', '01')}"
                moment = dt.datetime.fromisoformat(day).replace(hour=int(parts.get("hh", 0)))
                period = self.calendar.period_of(moment)
            except (KeyError, ValueError):  # not this source's file, or named for 2013-02-30
                continue
            if self.landing_file(landing_dir, period) == path:  # every placeholder names it
                periods.add(period)
        return sorted(periods)

    def newest_period(self, landing_dir: Path) -> Period | None:
        """The newest period landed in ``landing_dir`` within the calendar, or None."""
        last = self.calendar.last
        landed = [
            p
            for p in self.landed_periods(landing_dir)
            if p >= self.calendar.first and (last is None or p <= last)
        ]
        return max(landed, default=None)


def _parts(period: Period) -> dict[str, str]:
    start = period.start
    return {
        "yyyy": f"{start:%Y}",
        "mm": f"{start:%m}",
        "dd": f"{start:%d}",
        "hh": f"{start:%H}",
        "date": start.date().isoformat(),
    }


def _path_regex(pattern: str) -> str:
    """A regular expression of a path pattern, each placeholder a named group (once)."""
    regex, seen = "", set()
    for text, field in _pieces(pattern):
        piece = PLACEHOLDERS[field] if field else re.escape(text)
        regex += f"(?P<{field}>{piece})" if field and field not in seen else piece
        seen.add(field)
    return regex


def _pieces(pattern: str) -> list[tuple[str, str | None]]:
    """(literal text, None) and ("", placeholder) pieces of a path pattern, in order."""
    pieces = []
    for text, field, spec, conversion in string.Formatter().parse(pattern):
        if text:
            pieces.append((text, None))
        if field is not None:
            shown = field + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "")
            pieces.append(("", shown))
    return pieces


def _placeholders(pattern: str) -> list[str]:
    return [field for _, field in _pieces(pattern) if field is not None]


def display(file: Path) -> str:
    """``file`` relative to the working directory where it lies below it, else whole."""
    try:
        return str(file.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(file)


def _listing(values: object) -> str:
    return ", ".join(str(v) for v in values)


class _Rules:
    """The checks of one spec; each raises SourceSpecError at the first break."""

    def __init__(self, attributes: Mapping[str, Any], file: Path) -> None:
        self.attributes, self.file = attributes, file

    def fail(self, field: str, problem: str) -> SourceSpecError:
        return SourceSpecError(display(self.file), field, problem)

    def fields(self) -> None:
        for key in self.attributes:
            if key not in REQUIRED_FIELDS + OPTIONAL_FIELDS:
                allowed = _listing(REQUIRED_FIELDS + OPTIONAL_FIELDS)
                raise self.fail(str(key), f"unknown field; allowed: {allowed}")
        for key in REQUIRED_FIELDS:
            if key not in self.attributes:
                raise self.fail(key, "missing; every spec sets it")

    def identifier(self, field: str, value: object) -> str:
        if not isinstance(value, str) or not IDENTIFIER.fullmatch(value):
            raise self.fail(field, f"{value!r} is not an identifier; allowed: {IDENTIFIER_RULE}")
        return value

    def text(self, field: str) -> str:
        value = self.attributes[field]
        if not isinstance(value, str) or not value.strip():
            raise self.fail(field, f"{value!r}; allowed: a non-empty text")
        return value.strip()

    def whole_number(self, field: str) -> int:
        value = self.attributes.get(field, 0)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise self.fail(field, f"{value!r}; allowed: a whole number >= 0")
        return value

    def grain(self) -> str:
        value = self.attributes["grain"]
        if value not in GRAINS:
            raise self.fail("grain", f"{value!r} is not a grain; allowed: {_listing(GRAINS)}")
        return value

    def path(self, grain: str) -> str:
        value = self.text("path")
        if not PATH_TEXT.fullmatch(value) or value.startswith("/") or ".." in value.split("/"):
            raise self.fail(
                "path",
                f"{value!r}; allowed: a path below the landing root of letters, digits, "
                "_ . - / and placeholders, without '..'",
            )
        self.extension(value)
        allowed = _listing(f"{{{name}}}" for name in PLACEHOLDERS)
        try:
            fields = _placeholders(value)
        except ValueError as err:  # a lone { or }
            raise self.fail("path", f"{value!r}: {err}; allowed: {allowed}") from None
        for field in fields:
            if field not in PLACEHOLDERS:
                raise self.fail("path", f"unknown placeholder {{{field}}}; allowed: {allowed}")
        if grain == "batch" and fields != ["batch"]:
            raise self.fail(
                "path",
                f"{value!r} does not name its batch once, but the source is batch; allowed: a "
                "path with {batch} once and no other placeholder, e.g. customers/batch_{batch}.csv",
            )
        if grain != "batch" and "batch" in fields:
            raise self.fail(
                "path",
                f"{value!r} names a batch, but the source is {grain}; allowed: {{batch}} only on "
                "a batch source",
            )
        if grain in PERIOD_NAMES and not any(names <= set(fields) for names in PERIOD_NAMES[grain]):
            needs = " or ".join(
                ", ".join(f"{{{n}}}" for n in sorted(names, key=list(PLACEHOLDERS).index))
                for names in PERIOD_NAMES[grain]
            )
            raise self.fail(
                "path",
                f"{value!r} names no period, but the source is {grain}; allowed: a path with "
                f"{needs}",
            )
        if grain == "snapshot" and fields:
            raise self.fail(
                "path",
                f"{value!r} names a period, but a snapshot is one file; allowed: no placeholders",
            )
        return value

    def columns(self) -> dict[str, str]:
        value = self.attributes["columns"]
        if not isinstance(value, Mapping) or not value:
            raise self.fail("columns", f"{value!r}; allowed: a mapping of column -> type")
        for name, kind in value.items():
            self.identifier("columns", name)
            if name in RESERVED:
                raise self.fail(
                    f"columns.{name}",
                    f"the name is reserved; allowed: any but {_listing(RESERVED)}",
                )
            if kind not in TYPES:
                raise self.fail(
                    f"columns.{name}", f"unknown type {kind!r}; allowed: {_listing(TYPES)}"
                )
        return dict(value)

    def column_list(self, field: str, columns: Mapping[str, str]) -> tuple[str, ...]:
        value = self.attributes.get(field, [])
        if not isinstance(value, list):
            raise self.fail(field, f"{value!r} is not a list; allowed: a list of columns")
        for name in value:
            if name not in columns:
                raise self.fail(
                    field, f"{name!r} is not a declared column; allowed: {_listing(columns)}"
                )
        if len(set(value)) < len(value):
            raise self.fail(field, f"a column is listed twice in {value}")
        return tuple(value)

    def ranges(self, columns: Mapping[str, str]) -> dict[str, tuple[float, float]]:
        value = self.attributes.get("ranges", {})
        if not isinstance(value, Mapping):
            raise self.fail("ranges", f"{value!r}; allowed: a mapping of column -> {{min, max}}")
        numeric = _listing(c for c in columns if columns[c] in NUMERIC)
        ranges = {}
        for name, bounds in value.items():
            field = f"ranges.{name}"
            if name not in columns or columns[name] not in NUMERIC:
                what = "not a declared column" if name not in columns else f"a {columns[name]}"
                raise self.fail(field, f"{name!r} is {what}; allowed: the number columns {numeric}")
            if not isinstance(bounds, Mapping) or set(bounds) != {"min", "max"}:
                raise self.fail(field, f"{bounds!r}; allowed: {{min: <number>, max: <number>}}")
            low, high = bounds["min"], bounds["max"]
            if any(isinstance(b, bool) or not isinstance(b, int | float) for b in (low, high)):
                raise self.fail(field, f"{bounds!r}; allowed: numbers for min and max")
            if low > high:
                raise self.fail(field, f"min {low} is above max {high}; allowed: min <= max")
            ranges[name] = (low, high)
        return ranges

    def date_columns(self, grain: str, columns: Mapping[str, str]) -> tuple[str, ...] | None:
        if self.attributes.get("date_columns") is None:
            return None
        if grain in UNDATED:
            what = UNDATED[grain]
            raise self.fail("date_columns", f"a {what} has no file period; allowed: unset")
        names = self.column_list("date_columns", columns)
        if len(names) != 3 or any(columns[n] not in ("int32", "int64") for n in names):
            raise self.fail(
                "date_columns", f"{list(names)}; allowed: three int columns: year, month, day"
            )
        return names

    def moment(self, field: str) -> dt.datetime | None:
        value = self.attributes.get(field)
        if value is None:
            return None
        try:
            return calendars.parse_moment(value if isinstance(value, str) else value.isoformat())
        except (AttributeError, ValueError):
            raise self.fail(
                field, f"{value!r}; allowed: an ISO date (2016-07-02) or date and hour"
            ) from None

    def calendar(self, grain: str) -> Calendar | None:
        if grain in UNDATED:
            for field in ("start", "end"):
                if self.attributes.get(field) is not None:
                    raise self.fail(field, f"a {UNDATED[grain]} has no periods; allowed: unset")
            return None
        start, end = self.moment("start"), self.moment("end")
        if start is None:
            raise self.fail("start", f"missing; a {grain} source names its first period")
        timezone = self.attributes.get("timezone") or "UTC"
        allowed = {"hourly": "a whole hour", "monthly": "a month's first day"}.get(grain, "a date")
        try:
            calendar = Calendar(grain, start, None, timezone)
        except ValueError:
            raise self.fail(
                "start", f"{start} does not start a {grain} period; allowed: {allowed}"
            ) from None
        if end is not None and calendar.period_of(end).start != end:
            if grain == "weekly":
                allowed = f"a {start:%A}, as the weeks start on start's weekday"
            raise self.fail("end", f"{end} does not start a {grain} period; allowed: {allowed}")
        if end is not None and end < start:
            raise self.fail("end", f"{end} is before start {start}; allowed: start <= end")
        return Calendar(grain, start, end, timezone)

    def file_format(self) -> str:
        value = self.attributes.get("file_format", "csv")
        if not isinstance(value, str) or value not in EXTENSIONS:
            raise self.fail(
                "file_format", f"{value!r} is not a format; allowed: {_listing(EXTENSIONS)}"
            )
        return value

    def extension(self, path: str) -> None:
        file_format = self.file_format()
        endings = EXTENSIONS[file_format]
        if not path.endswith(endings):
            raise self.fail(
                "path",
                f"{path!r}; allowed: a path ending in {' or '.join(endings)} "
                f"(file_format {file_format})",
            )

    def delimiter(self, file_format: str) -> str:
        if "delimiter" not in self.attributes:
            return ","
        value = self.attributes["delimiter"]
        if file_format != "csv":
            raise self.fail(
                "delimiter", f"a {file_format} file has no delimiter; allowed: unset (csv only)"
            )
        if not isinstance(value, str) or len(value) != 1 or value in '\r\n"':
            raise self.fail(
                "delimiter",
                f"{value!r}; allowed: one character other than a line end or a double quote, "
                "e.g. ';' or a tab",
            )
        return value

    def null_tokens(self) -> tuple[str, ...]:
        if "null_tokens" not in self.attributes:
            return NULL_TOKENS
        value = self.attributes["null_tokens"]
        if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
            raise self.fail(
                "null_tokens", f"{value!r}; allowed: a list of texts (quote numbers: '-999')"
            )
        return tuple(value)

    def period_column(self, grain: str, columns: Mapping[str, str]) -> str | None:
        value = self.attributes.get("period_column")
        if value is None:
            return None
        if grain in UNDATED:
            raise self.fail("period_column", f"a {UNDATED[grain]} has no period; allowed: unset")
        if not isinstance(value, str) or columns.get(value) not in DATED:
            declared = isinstance(value, str) and value in columns
            what = f"a {columns[value]}" if declared else "not a declared column"
            dated = _listing(c for c in columns if columns[c] in DATED) or "(none declared)"
            raise self.fail(
                "period_column", f"{value!r} is {what}; allowed: a date or datetime column: {dated}"
            )
        if self.attributes.get("date_columns") is not None:
            raise self.fail(
                "period_column",
                "set together with date_columns; allowed: one of period_column and date_columns",
            )
        return value

    def period_format(self, period_column: str | None, columns: Mapping[str, str]) -> str | None:
        value = self.attributes.get("period_format")
        if value is None:
            return None
        if period_column is None:
            raise self.fail(
                "period_format", "set without a period_column; allowed: unset, or a period_column"
            )
        allowed = "allowed: a strftime format with %Y, %m (or %b) and %d, e.g. '%d/%m/%Y'"
        if not isinstance(value, str) or "%Y" not in value:
            raise self.fail("period_format", f"{value!r}; {allowed}")
        if not _reads_back(value, TYPES[columns[period_column]]):
            raise self.fail(
                "period_format",
                f"{value!r} does not read back the day it writes ({SAMPLE.date()}); {allowed}",
            )
        return value

    def timezone(self) -> str:
        value = self.attributes.get("timezone", "UTC")
        try:
            zoneinfo.ZoneInfo(value)
            pl.Series([SAMPLE.replace(tzinfo=None)]).dt.replace_time_zone(value)  # Polars' too
        except (
            zoneinfo.ZoneInfoNotFoundError,
            ValueError,
            TypeError,
            OSError,
            pl.exceptions.PolarsError,
        ):
            raise self.fail(
                "timezone",
                f"{value!r} is not a time zone; allowed: an IANA name, e.g. UTC, America/Chicago",
            ) from None
        return value

    def reading(self, grain: str, columns: Mapping[str, str]) -> dict[str, Any]:
        """The SourceSchema fields of how a file is read and its rows dated."""
        file_format = self.file_format()
        period_column = self.period_column(grain, columns)
        return {
            "file_format": file_format,
            "delimiter": self.delimiter(file_format),
            "null_tokens": self.null_tokens(),
            "period_column": period_column,
            "period_format": self.period_format(period_column, columns),
            "timezone": self.timezone(),
        }

    def owners(self) -> tuple[str, ...]:
        value = self.attributes.get("owners") or list(DEFAULT_OWNERS)
        if not isinstance(value, list) or not all(
            isinstance(o, str) and OWNER.fullmatch(o) for o in value
        ):
            raise self.fail("owners", f"{value!r}; allowed: a list of emails or team:<name>")
        return tuple(value)

    def spec(self) -> SourceSpec:
        self.fields()
        name = self.identifier("name", self.attributes["name"])
        description = self.text("description")
        grain = self.grain()
        path = self.path(grain)
        columns = self.columns()
        primary_key = self.column_list("primary_key", columns)
        if not primary_key:
            raise self.fail("primary_key", "empty; allowed: one or more declared columns")
        schema = SourceSchema(
            name=name,
            columns={column: TYPES[kind] for column, kind in columns.items()},
            primary_key=primary_key,
            required=self.column_list("required", columns),
            ranges=self.ranges(columns),
            date_columns=self.date_columns(grain, columns),
            lag_days=self.whole_number("lag"),
            min_rows=self.whole_number("min_rows"),
            **self.reading(grain, columns),
        )
        if grain == "snapshot" and schema.lag_days:
            raise self.fail("lag", "a snapshot has no file period; allowed: 0 or unset")
        calendar = self.calendar(grain)
        dataset = self.identifier("dataset", self.attributes.get("dataset") or name)
        return SourceSpec(
            schema,
            description,
            grain,
            path,
            self.owners(),
            self.file,
            dataset=dataset,
            calendar=calendar,
            lag=schema.lag_days,
        )


def _reads_back(text_format: str, dtype: pl.DataType) -> bool:
    """Whether ``text_format`` writes SAMPLE as text that ingest reads back to the same day."""
    try:
        text = pl.Series([SAMPLE]).dt.to_string(text_format)
        value = pl.select(parse_moment(pl.lit(text[0]), dtype, text_format, "UTC")).item()
    except (pl.exceptions.PolarsError, ValueError):
        return False
    return value is not None and (value if dtype == pl.Date else value.date()) == SAMPLE.date()


def parse_spec(attributes: Mapping[str, Any], file: Path) -> SourceSpec:
    """Check one spec (the ``attributes`` of its defs.yaml) and build it.

    Raises:
        SourceSpecError: the first rule the spec breaks, with its file and field.

    """
    if not isinstance(attributes, Mapping):
        raise SourceSpecError(display(file), "attributes", "allowed: a mapping of the fields")
    return _Rules(attributes, file).spec()
