"""LandingSource: a landing source's YAML spec becomes its ``raw_<source>`` ingest asset.

``defs/ingest/<source>/defs.yaml`` declares the source (where its files land and in which
format, their columns and types, required columns, primary key, ranges, grain); the asset
validates each landing file against that contract and quarantines bad rows with their reason
(ingest_asset.py). A new dataset needs no Python. The fields and their rules are
``SourceSpec``'s (lib/specs/source.py); this component is that spec.
"""

from typing import Self

import dagster as dg
import pydantic

from factory_assets.components.ingest_asset import build_ingest_asset
from factory_assets.components.spec_loading import load_spec, locate, raise_bad, written_as
from factory_assets.lib.sources import Dataset, datasets
from factory_assets.lib.specs.errors import SpecError
from factory_assets.lib.specs.source import SourceSpec


class LandingSource(dg.Component, SourceSpec):
    """One landing source: its files' contract, validated into ``raw_<name>`` + quarantine.

    A broken spec fails the definitions load with one line per problem: the file and line,
    the field and what is allowed. Template expressions (``{{ ... }}``) are not rendered.
    """

    @classmethod
    def get_model_cls(cls) -> type[pydantic.BaseModel]:
        """The attributes as written (``load`` validates them); the JSON schema is the spec's."""
        return written_as(SourceSpec)

    @classmethod
    def load(cls, attributes: pydantic.BaseModel | None, context: dg.ComponentLoadContext) -> Self:
        """The component of one defs.yaml document, once its spec follows every rule."""
        where = locate(context)
        return load_spec(cls, attributes, where).located(where(["name"]))

    def build_defs(self, context: dg.ComponentLoadContext) -> dg.Definitions:
        """The ``raw_<name>`` asset of the spec, once it agrees with every other source's."""
        source_datasets(context.component_tree)
        return dg.Definitions(assets=[build_ingest_asset(self)])


def source_datasets(tree: dg.ComponentTree) -> dict[str, Dataset]:
    """The datasets of the LandingSource components of ``tree`` (each parsed once, there).

    Raises:
        BadSpec: two specs declare the same source, or disagree on their dataset's calendar.

    """
    try:
        return datasets(tree.get_all_components(of_type=LandingSource))
    except SpecError as err:
        raise_bad(err)
