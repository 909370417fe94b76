"""Datasets: the landing sources landed and run together, from their specs.

The specs themselves are parsed once, by Dagster's component loader, as ``LandingSource``
components (factory_assets/components/landing_source.py); ``factory_assets.specs`` hands the
shipped ones to code outside a definitions load. ``datasets`` groups specs and enforces the
rules between them: one spec per source, one calendar per dataset, batches apart from periods.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from factory_assets.lib.calendar import Calendar, Period
from factory_assets.lib.specs.errors import SpecError
from factory_assets.lib.specs.source import SourceSpec


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

    def oldest_period(self, landing_dir: Path) -> Period | None:
        """The oldest period from which every periodic source has landed files, or None."""
        oldest = [spec.oldest_period(landing_dir) for spec in self.periodic]
        return None if not oldest or None in oldest else max(oldest)


def _fail(spec: SourceSpec, field: str, problem: str, allowed: str) -> SpecError:
    return SpecError([f"{spec.where}: {field}: {problem}; allowed: {allowed}"], [field])


def by_name(specs: Iterable[SourceSpec]) -> dict[str, SourceSpec]:
    """``specs`` by source name; SpecError when two declare the same source."""
    found: dict[str, list[SourceSpec]] = {}
    for spec in specs:
        found.setdefault(spec.name, []).append(spec)
    for name, same in found.items():
        if len(same) > 1:
            files = ", ".join(s.where for s in same)
            problem = f"source {name!r} is declared {len(same)} times ({files})"
            raise _fail(same[-1], "name", problem, "a name no other spec uses")
    return {name: same[0] for name, same in found.items()}


def _calendar_text(calendar: Calendar) -> str:
    end = "open-ended" if calendar.end is None else f"to {calendar.end:%Y-%m-%d %H:%M}"
    return f"{calendar.grain} from {calendar.start:%Y-%m-%d %H:%M} {end} ({calendar.timezone})"


def _check_calendar(mine: list[SourceSpec]) -> None:
    """SpecError unless the periodic sources share one calendar and no batch source joins them."""
    periodic = [spec for spec in mine if spec.calendar is not None]
    batched = [spec for spec in mine if spec.batched]
    if periodic and batched:
        batch, other = batched[0], periodic[0]
        raise _fail(batch, "dataset", f"{batch.dataset!r} has {batch.name} by batch but "
                    f"{other.name} ({other.where}) on {_calendar_text(other.calendar)}",
                    "batch sources and periodic sources in different datasets")  # fmt: skip
    for spec in periodic[1:]:
        first = periodic[0]
        if spec.calendar != first.calendar:
            raise _fail(spec, "dataset", f"{spec.dataset!r} has {spec.name} on "
                        f"{_calendar_text(spec.calendar)} but {first.name} ({first.where}) on "
                        f"{_calendar_text(first.calendar)}",
                        "one grain, start, end and timezone per dataset")  # fmt: skip


def datasets(specs: Iterable[SourceSpec]) -> dict[str, Dataset]:
    """The datasets of ``specs``, by name; SpecError when specs break the rules between them."""
    named = by_name(specs)
    out = {}
    for name in sorted({spec.dataset for spec in named.values()}):
        mine = [spec for spec in named.values() if spec.dataset == name]
        _check_calendar(mine)
        periodic = tuple(spec for spec in mine if spec.calendar is not None)
        batched = tuple(spec for spec in mine if spec.batched)
        snapshots = tuple(spec for spec in mine if spec.grain == "snapshot")
        calendar = periodic[0].calendar if periodic else None
        out[name] = Dataset(name, calendar, periodic, snapshots, batched)
    return out
