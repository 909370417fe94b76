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
from functools import cache
from pathlib import Path
from typing import Any

import yaml

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


def declarations(folder: Path) -> list[tuple[Path, Mapping[str, Any]]]:
    """(file, attributes) of every LandingSource in the defs.yaml files below ``folder``."""
    files = project_files(folder, ("defs.yaml",))
    return _parse(tuple((file, file.stat().st_mtime_ns) for file in files))


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
        SourceSpecError: a spec breaks a rule, or two specs declare the same source.

    """
    specs: dict[str, SourceSpec] = {}
    for file, attributes in declarations(folder):
        spec = parse_spec(attributes, file)
        if spec.name in specs:
            check_unique(folder, spec.name, file)
        specs[spec.name] = spec
    return specs


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
