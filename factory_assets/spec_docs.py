"""The README's generated tables: spec fields and settings, from their own schemas.

The spec tables come from the source and model specs, the settings table (every environment
variable) from ``factory_assets/settings.py``.

``python -m factory_assets.spec_docs`` rewrites the tables between their markers in README.md;
a test checks that the README holds what this module generates, so the tables cannot go stale.
"""

import sys
import typing
from pathlib import Path

import pydantic
from pydantic.fields import FieldInfo

from factory_assets.lib.markdown import markdown_table

README = Path(__file__).resolve().parents[1] / "README.md"
MARKERS = {
    "source": ("<!-- source-spec-fields:start -->", "<!-- source-spec-fields:end -->"),
    "model": ("<!-- model-spec-fields:start -->", "<!-- model-spec-fields:end -->"),
    "settings": ("<!-- settings:start -->", "<!-- settings:end -->"),
}


def _nested(annotation: object) -> type[pydantic.BaseModel] | None:
    """The model a field holds (itself or in its union), whose fields get rows of their own."""
    members = (annotation, *typing.get_args(annotation))
    models = (m for m in members if isinstance(m, type) and issubclass(m, pydantic.BaseModel))
    return next(models, None)


def _type(annotation: object) -> str:
    """What the field accepts, in the words the spec errors use (a nested model: below)."""
    from factory_assets.lib.specs.errors import describe

    if _nested(annotation) is not None:
        optional = type(None) in typing.get_args(annotation)
        return "a mapping (below)" + (" (or leave it out)" if optional else "")
    return describe(annotation)


def _default(field: FieldInfo) -> str:
    if field.is_required():
        return "**required**"
    value = field.get_default(call_default_factory=True)
    if isinstance(value, pydantic.BaseModel):
        return "(its defaults)"
    return f"`{value}`" if value not in (None, [], {}) else "unset"


def _rows(model: type[pydantic.BaseModel], prefix: str = "") -> list[list[str]]:
    rows = []
    for name, field in model.model_fields.items():
        annotation = field.annotation
        nested = _nested(annotation)
        doc = (nested.__doc__ or "").strip().splitlines()[0] if nested else ""
        text = " ".join((field.description or doc).split())
        rows.append([f"`{prefix}{name}`", _type(annotation), _default(field), text])
        if nested is not None:
            rows += _rows(nested, f"{prefix}{name}.")
    return rows


def tables() -> dict[str, str]:
    """The source and model spec tables and the settings table, by kind."""
    from factory_assets.components.landing_source import LandingSource
    from factory_assets.components.model_spec import ModelSpec
    from factory_assets.settings import rows

    header = ["field", "type", "default", "what"]
    return {
        "source": markdown_table(header, _rows(LandingSource)),
        "model": markdown_table(header, _rows(ModelSpec)),
        "settings": markdown_table(["variable", "default", "what"], rows()),
    }


def rendered(text: str) -> str:
    """``text`` (the README) with each table replaced between its markers."""
    for kind, table in tables().items():
        start, end = MARKERS[kind]
        head, rest = text.split(start, 1)
        _, tail = rest.split(end, 1)
        text = f"{head}{start}\n{table}\n{end}{tail}"
    return text


if __name__ == "__main__":
    README.write_text(rendered(README.read_text()))
    sys.exit(0)
