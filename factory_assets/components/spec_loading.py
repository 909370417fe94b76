"""How a spec component loads its YAML: one pattern for sources and models.

Dagster validates a component's attributes before ``load``, without the file, and its report
never says what a field allows. So the attributes reach ``load`` as written (``written_as``,
whose JSON schema is still the spec's: ``dg docs``, ``dg utils inspect-component`` and the
editors see every field), and ``load_spec`` validates them against the spec's pydantic model,
reporting each problem at its file and line from the positions Dagster's YAML loader keeps.
"""

from functools import cache
from pathlib import Path
from typing import Any

import dagster as dg
import pydantic

from factory_assets.lib.specs.errors import Locate, SpecError, validated
from factory_assets.private_api import ComponentTreeException, source_line


class BadSpec(SpecError, ComponentTreeException):
    """A spec that breaks its rules, as the error that fails the definitions load.

    Dagster wraps any other error raised while a component loads in a ComponentTreeException
    whose message is only the tree of components; one that already is one passes through, so
    the spec's lines are the load error's message.
    """


@cache
def written_as(model: type[pydantic.BaseModel]) -> type[pydantic.BaseModel]:
    """A model that takes any mapping but shows ``model``'s JSON schema."""

    class Written(pydantic.BaseModel):
        model_config = pydantic.ConfigDict(extra="allow")

        @classmethod
        def __get_pydantic_json_schema__(cls, core_schema: Any, handler: Any) -> dict:
            return handler(model.__pydantic_core_schema__)  # its $defs join the document's

    Written.__name__ = Written.__qualname__ = f"{model.__name__}Attributes"
    return Written


def locate(context: dg.ComponentLoadContext) -> Locate:
    """``path -> "file:line"`` of the attributes being loaded (the file alone if unknown)."""
    tree = context.resolution_context.source_position_tree
    file = context.path / "defs.yaml" if context.path.is_dir() else Path(context.path)
    if tree is None:
        return lambda path: str(file)
    return lambda path: str(source_line(tree, ["attributes", *path]))


def load_spec(
    model: type[pydantic.BaseModel],
    attributes: pydantic.BaseModel | None,
    where: Locate,
    context: dict | None = None,
) -> pydantic.BaseModel:
    """``model`` validated from the attributes as written, or BadSpec naming file and line."""
    written = attributes.model_dump() if attributes is not None else {}
    try:
        return validated(model, written, where, context)
    except SpecError as err:
        raise BadSpec(err.lines, err.fields) from None


def raise_bad(err: SpecError) -> None:
    """Raise ``err`` as the load error itself (not wrapped in Dagster's component tree)."""
    raise BadSpec(err.lines, err.fields) from None
