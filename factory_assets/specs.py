"""The shipped landing sources for code outside a definitions load (CLI, landing writers, tests).

Inside a load, components read the specs from their own component tree
(``landing_source.source_datasets(context.component_tree)``). Elsewhere this module loads the
project's ``LandingSource`` components once per process through Dagster's component tree: the
one parser of a defs.yaml, whose positions every spec error names.
"""

from functools import cache
from pathlib import Path

import dagster as dg

from factory_assets.lib.sources import Dataset
from factory_assets.lib.specs.source import SourceSpec

ROOT = Path(__file__).resolve().parent


@cache
def _tree() -> dg.ComponentTree:
    return dg.ComponentTree.for_project(ROOT)


@cache
def shipped_datasets() -> dict[str, Dataset]:
    """The datasets of the shipped specs (factory_assets/defs/ingest/), read once per process."""
    from factory_assets.components.landing_source import source_datasets

    return source_datasets(_tree())


def known_datasets(tree: dg.ComponentTree) -> dict[str, Dataset]:
    """The datasets a component of ``tree`` may use.

    The tree's own and, in another project than this one (a test's throwaway project), the
    shipped ones too.
    """
    from factory_assets.components.landing_source import source_datasets

    own = source_datasets(tree)
    if tree.defs_module_name == _tree().defs_module_name:
        return own
    return {**shipped_datasets(), **own}


def shipped_specs() -> dict[str, SourceSpec]:
    """The shipped specs, by source name."""
    return {s.name: s for d in shipped_datasets().values() for s in d.sources}


def source_spec(name: str) -> SourceSpec:
    """The shipped spec of source ``name``."""
    specs = shipped_specs()
    if name not in specs:
        raise KeyError(f"no landing source {name!r}; known: {', '.join(sorted(specs))}")
    return specs[name]


@cache
def shipped_lines() -> dict:
    """The ModelLines of the shipped model specs (factory_assets/defs/models/), by model name."""
    from factory_assets.components.model_spec import MANIFEST, ModelSpec
    from factory_assets.lib.catalog import warehouse_tables

    tables, known = warehouse_tables(MANIFEST), shipped_datasets()
    specs = _tree().get_all_components(of_type=ModelSpec)
    return {s.name: s.line(ROOT / "defs" / "models" / s.name, tables, known) for s in specs}
