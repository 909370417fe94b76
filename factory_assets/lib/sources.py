"""The landing sources' contracts, read from their YAML specs without Dagster.

Each source is a ``defs.yaml`` under ``factory_assets/defs/ingest/<source>/``; its component
``LandingSource`` (factory_assets/components/landing_source.py) turns it into ``raw_<source>``.
Code outside Dagster (the landing writer, the tests, the online features) reads the same files
here, so the YAML is the only place a contract is written. The rules a spec must follow are in
lib/source_spec.py.

``FLIGHTS``, ``WEATHER``, ``OUTCOMES``, ``PLANES``, ``AIRPORTS`` and ``AIRLINES`` are the
SourceSchema of the shipped specs, read on first use.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from factory_assets.lib.calendar import Calendar, Period
from factory_assets.lib.files import project_files
from factory_assets.lib.ingest import SourceSchema
from factory_assets.lib.source_spec import SourceSpec, SourceSpecError, display, parse_spec

COMPONENT_TYPE = "factory_assets.components.landing_source.LandingSource"
SPECS_DIR = Path(__file__).resolve().parents[1] / "defs" / "ingest"
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_SCHEMAS = {
    "FLIGHTS": "flights",
    "WEATHER": "weather",
    "OUTCOMES": "outcomes",
    "PLANES": "planes",
    "AIRPORTS": "airports",
    "AIRLINES": "airlines",
}


def _stamped(folder: Path) -> tuple[tuple[Path, int], ...]:
    """The defs.yaml files below ``folder`` with their modification times: the caches' key."""
    return tuple((f, f.stat().st_mtime_ns) for f in project_files(folder, ("defs.yaml",)))


def declarations(folder: Path) -> list[tuple[Path, Mapping[str, Any]]]:
    """(file, attributes) of every LandingSource in the defs.yaml files below ``folder``."""
    return _parse(_stamped(folder))


@cache
def _parse(stamped: tuple[tuple[Path, int], ...]) -> list[tuple[Path, Mapping[str, Any]]]:
    """Parsed once per set of files and modification times (every component of a load asks)."""
    found = []
    for file, _ in stamped:
        text = file.read_text(encoding="utf-8")
        if "LandingSource" not in text:
            continue
        try:
            documents = list(yaml.load_all(text, Loader=_LOADER))
        except yaml.YAMLError:  # Dagster's own load reports a broken file, with its line
            continue
        for document in documents:
            if isinstance(document, Mapping) and document.get("type") == COMPONENT_TYPE:
                found.append((file, document.get("attributes") or {}))
    return found


def check_unique(folder: Path, name: str, file: Path) -> None:
    """Raise SourceSpecError if source ``name``, declared in ``file``, is declared twice."""
    files = [f for f, attributes in declarations(folder) if attributes.get("name") == name]
    if len(files) > 1:
        raise SourceSpecError(
            display(file),
            "name",
            f"source {name!r} is declared {len(files)} times "
            f"({', '.join(display(f) for f in files)}); allowed: a name no other spec uses",
        )


def read_specs(folder: Path) -> dict[str, SourceSpec]:
    """Every LandingSource spec below ``folder``, by source name.

    Raises:
        SourceSpecError: a spec breaks a rule, two specs declare the same source, two
            periodic sources of one dataset have different calendars, or a dataset mixes batch
            and periodic sources.

    """
    return dict(_specs(folder, _stamped(folder)))


@cache
def _specs(folder: Path, stamped: tuple[tuple[Path, int], ...]) -> dict[str, SourceSpec]:
    """Built once per set of files and modification times (every component of a load asks)."""
    specs: dict[str, SourceSpec] = {}
    for file, attributes in _parse(stamped):
        spec = parse_spec(attributes, file)
        if spec.name in specs:
            check_unique(folder, spec.name, file)
        specs[spec.name] = spec
    for spec in specs.values():
        check_calendar(specs.values(), spec)
    return specs


def check_calendar(specs, spec: SourceSpec) -> None:  # noqa: ANN001 (an iterable of SourceSpec)
    """Raise SourceSpecError if a periodic source of ``spec``'s dataset has another calendar.

    A dataset is periodic or batched: a batch source and a periodic one never share a dataset
    (snapshots join either).
    """
    for other in specs:
        if other.dataset == spec.dataset and (
            (spec.batched and other.calendar is not None)
            or (other.batched and spec.calendar is not None)
        ):
            batch, periodic = (spec, other) if spec.batched else (other, spec)
            raise SourceSpecError(
                display(spec.file),
                "dataset",
                f"{spec.dataset!r} has {batch.name} by batch but {periodic.name} "
                f"({display(periodic.file)}) on {_calendar_text(periodic.calendar)}; allowed: "
                "batch sources and periodic sources in different datasets",
            )
        if (
            other.dataset == spec.dataset
            and None not in (other.calendar, spec.calendar)
            and other.calendar != spec.calendar
        ):
            raise SourceSpecError(
                display(spec.file),
                "dataset",
                f"{spec.dataset!r} has {spec.name} on {_calendar_text(spec.calendar)} but "
                f"{other.name} ({display(other.file)}) on {_calendar_text(other.calendar)}; "
                "allowed: one grain, start, end and timezone per dataset",
            )


def _calendar_text(calendar: Calendar) -> str:
    end = "open-ended" if calendar.end is None else f"to {calendar.end:%Y-%m-%d %H:%M}"
    return f"{calendar.grain} from {calendar.start:%Y-%m-%d %H:%M} {end} ({calendar.timezone})"


@dataclass(frozen=True)
class Dataset:
    """Sources landed and run together: periodic ones on one calendar or batch ones, and snapshots.

    Attributes:
        name: the dataset's name (the sources' ``dataset``).
        calendar: the periodic sources' calendar, or None when it has none (batches, snapshots).
        periodic: the periodic sources' specs.
        snapshots: the snapshot sources' specs.
        batched: the batch sources' specs (a dataset has periodic or batch sources, not both).

    """

    name: str
    calendar: Calendar | None
    periodic: tuple[SourceSpec, ...]
    snapshots: tuple[SourceSpec, ...]
    batched: tuple[SourceSpec, ...] = ()

    @property
    def sources(self) -> tuple[SourceSpec, ...]:
        """Every source of the dataset."""
        return self.periodic + self.batched + self.snapshots

    @property
    def partitioned(self) -> bool:
        """Whether the dataset has periods or batches (jobs, partitions of its models)."""
        return self.calendar is not None or bool(self.batched)

    @property
    def partitions_name(self) -> str:
        """The name of a batched dataset's dynamic partitions, shared by its sources and models."""
        return f"{self.name}_batches"

    def landed_batches(self, landing_dir: Path) -> list[str]:
        """The batches every batch source has landed a file for, sorted by key."""
        landed = [set(spec.landed_batches(landing_dir)) for spec in self.batched]
        return sorted(set.intersection(*landed)) if landed else []

    def newest_batch(self, landing_dir: Path) -> str | None:
        """The newest batch (by key) every batch source has landed a file for, or None."""
        return max(self.landed_batches(landing_dir), default=None)

    def newest_period(self, landing_dir: Path) -> Period | None:
        """The newest period every periodic source has landed a file for, or None."""
        newest = [spec.newest_period(landing_dir) for spec in self.periodic]
        return None if not newest or None in newest else min(newest)


def datasets(specs: Mapping[str, SourceSpec]) -> dict[str, Dataset]:
    """The datasets of ``specs``, by name."""
    names = sorted({spec.dataset for spec in specs.values()})
    out = {}
    for name in names:
        mine = [spec for spec in specs.values() if spec.dataset == name]
        periodic = tuple(spec for spec in mine if spec.calendar is not None)
        batched = tuple(spec for spec in mine if spec.batched)
        snapshots = tuple(spec for spec in mine if spec.grain == "snapshot")
        calendar = periodic[0].calendar if periodic else None
        out[name] = Dataset(name, calendar, periodic, snapshots, batched)
    return out


@cache
def shipped_datasets() -> dict[str, Dataset]:
    """The datasets of the shipped specs, read once per process."""
    return datasets(shipped_specs())


@cache
def shipped_specs() -> dict[str, SourceSpec]:
    """The specs under factory_assets/defs/ingest/, read once per process."""
    return read_specs(SPECS_DIR)


def source_spec(name: str) -> SourceSpec:
    """The shipped spec of source ``name``."""
    specs = shipped_specs()
    if name not in specs:
        raise KeyError(f"no landing source {name!r} in {SPECS_DIR}; known: {', '.join(specs)}")
    return specs[name]


def __getattr__(name: str) -> SourceSchema:
    """``FLIGHTS`` and the other shipped contracts, read from their YAML on first use."""
    if name in _SCHEMAS:
        return source_spec(_SCHEMAS[name]).schema
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
