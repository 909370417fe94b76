"""LandingSource: a landing source's YAML spec becomes its ``raw_<source>`` ingest asset.

``defs/ingest/<source>/defs.yaml`` declares the source (where its files land and in which
format, their columns and types, required columns, primary key, ranges, grain); the asset
validates each landing file against that contract and quarantines bad rows with their reason
(ingest_asset.py). A new dataset needs no Python. The rules a spec must follow are in
lib/source_spec.py; lib/sources.py reads the same YAML for code outside Dagster.
"""

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import dagster as dg
from dagster.components.core.component_tree import ComponentTreeException
from pydantic import BaseModel, ConfigDict, Field

from factory_assets.components.ingest_asset import build_ingest_asset
from factory_assets.lib.source_spec import SourceSpec, SourceSpecError, parse_spec
from factory_assets.lib.sources import check_calendar, check_unique, read_specs


class BadSourceSpec(ComponentTreeException):
    """A source spec that breaks a rule, as the error that fails the definitions load.

    Dagster wraps any other error raised while a component loads in a ComponentTreeException
    whose message is only the tree of components, the reason two screens below; an error that
    already is one passes through as it is, so the spec's message is the load error's headline.
    """


class LandingSource(dg.Component, dg.Model, dg.Resolvable):
    """One landing source: its files' contract, validated into ``raw_<name>`` + quarantine.

    The YAML attributes reach ``load`` as written and are judged by the rules of
    lib/source_spec.py alone, so any broken spec (an unknown field or a list where a mapping
    belongs too) fails the definitions load with one message: the file, the field and what is
    allowed. Template expressions (``{{ ... }}``) are not rendered in a spec.
    """

    name: str = Field(description="Source name; the asset and table are raw_<name>.")
    description: str = Field(description="What the source holds (the asset's description).")
    dataset: str | None = Field(
        default=None,
        description="The sources landed and run together (its jobs and schedule); periodic "
        "sources of one dataset share a calendar, batch sources never join periodic ones. "
        "Default: the source's own name.",
    )
    grain: Literal["hourly", "daily", "weekly", "monthly", "batch", "snapshot"] = Field(
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
    timezone: str | None = Field(
        default=None, description="IANA zone periods begin and end in (default UTC)."
    )
    path: str = Field(
        description="Landing file below the landing root; a periodic one names its period with "
        "{date} or {yyyy}, {mm}, {dd} (and {hh} by the hour), e.g. "
        "flights/{yyyy}/{mm}/flights_{date}.csv; a batch one its batch with {batch} (letters, "
        "digits, _ . -; batches sort by it), e.g. customers/batch_{batch}.csv."
    )
    columns: dict[str, str] = Field(
        description="Column -> type (int32, int64, float64, string, bool, date, datetime), "
        "in file order."
    )
    primary_key: list[str] = Field(description="Columns that identify a row.")
    required: list[str] = Field(default_factory=list, description="Columns never null.")
    ranges: dict[str, dict[str, int | float]] = Field(
        default_factory=dict, description="Column -> {min, max}, inclusive."
    )
    date_columns: list[str] | None = Field(
        default=None,
        description="Periodic only: [year, month, day] columns; the date lies in the rows' period.",
    )
    lag: int = Field(
        default=0,
        description="Periodic or batch: a file's rows describe the period (batch) this many "
        "periods (batches) before the one it is delivered in (labels that land late).",
    )
    min_rows: int = Field(default=0, description="Fewest good rows a usable file has.")
    owners: list[str] | None = Field(default=None, description="Default: team:data-platform.")
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
        default_factory=lambda: ["NA", ""],
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

    @classmethod
    def get_model_cls(cls) -> type[BaseModel]:
        """What Dagster validates the YAML attributes with: anything; ``load`` judges them."""
        return _Attributes

    @classmethod
    def load(
        cls, attributes: BaseModel | None, context: dg.ComponentLoadContext
    ) -> "LandingSource":
        """The component of one defs.yaml document, once its spec follows every rule."""
        written = attributes.model_dump() if attributes is not None else {}
        _checked(written, context)
        return cls(**written)

    def build_defs(self, context: dg.ComponentLoadContext) -> dg.Definitions:
        """The ``raw_<name>`` asset of the spec."""
        spec = _checked(self.model_dump(exclude_unset=True), context)
        return dg.Definitions(assets=[build_ingest_asset(spec)])


class _Attributes(dg.Model):
    """A LandingSource's attributes as written; its JSON schema is the component's fields'."""

    model_config = ConfigDict(extra="allow")

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema: Any, handler: Any) -> dict:
        return LandingSource.model().model_json_schema()


def _checked(attributes: Mapping[str, Any], context: dg.ComponentLoadContext) -> SourceSpec:
    """The spec, or BadSourceSpec naming the file, the field and what is allowed."""
    file = context.path / "defs.yaml" if context.path.is_dir() else Path(context.path)
    try:
        spec = parse_spec(attributes, file)
        check_unique(context.defs_module_path, spec.name, file)
        check_calendar(read_specs(context.defs_module_path).values(), spec)
    except SourceSpecError as err:
        raise BadSourceSpec(str(err)) from None
    return spec
