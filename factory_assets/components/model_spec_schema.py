"""Schema errors of a model spec (what pydantic rejects) as SpecError lines: file, field, allowed.

Dagster's own report of a bad ``defs.yaml`` lists pydantic's errors once per branch of the
template unions (``attributes.data.DataSpec.label``, then ``attributes.data.str``) and never says
what a field allows. ``schema_error`` keeps one line per real problem, in the form of the
semantic checks: ``<file>:<line>: <field>: <problem>; allowed: <...>``.
"""

import types
import typing
from pathlib import Path

import pydantic
from dagster_shared.yaml_utils.source_position import SourcePositionTree

SCALARS = {str: "a string", int: "an integer", float: "a number", bool: "true or false"}
TEMPLATE_BRANCH = "str"  # Dagster lets any field be a "{{ template }}" string


def describe(annotation: object) -> str:
    """What a field of this type accepts, in words."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        kept = [describe(a) for a in args if a is not type(None)]
        return " or ".join(kept) + (" (or leave it out)" if type(None) in args else "")
    if origin is typing.Literal:
        return "one of " + ", ".join(map(str, args))
    if origin is list:
        return f"a list of {describe(args[0]) if args else 'values'}"
    if origin is dict or annotation is dict:
        return "a mapping"
    if _is_model(annotation):
        return "a mapping of " + ", ".join(annotation.model_fields)
    return SCALARS.get(annotation, getattr(annotation, "__name__", str(annotation)))


def _walk(root: type[pydantic.BaseModel], loc: tuple) -> tuple[list, object, object, bool]:
    """Where ``loc`` points: field path (no union tags), its type, its parent model.

    The last item says whether the error came from the template-string branch of a union.
    """
    path: list = []
    node: object = root
    parent: object = None
    via_template = False
    for part in loc:
        union = typing.get_origin(node) in (typing.Union, types.UnionType)
        members = typing.get_args(node) if union else (node,)
        model = next((m for m in members if _is_model(m)), None)
        named = next((m for m in members if getattr(m, "__name__", None) == part), None)
        if model is not None and part in model.model_fields:
            path.append(part)
            parent, node = model, model.model_fields[part].annotation
        elif part == TEMPLATE_BRANCH or named is not None:
            via_template = via_template or part == TEMPLATE_BRANCH
            node = named or node  # the tag of a union branch: the template string or a type
        elif model is not None:  # a field the model does not have
            path.append(part)
            parent, node = model, None
        elif typing.get_origin(node) is dict or (
            typing.get_origin(node) is list and isinstance(part, int)
        ):
            path.append(part)  # a mapping key or a list index
            node = typing.get_args(node)[-1]
        # else: a tag that names a parametrised type (``list[str]``)
    return path, node, parent, via_template


def _is_model(annotation: object) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, pydantic.BaseModel)


def _dotted(path: list) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text.lstrip(".") or "attributes"


def _line(error: dict, root: type[pydantic.BaseModel]) -> tuple[list, bool, str, str]:
    path, node, parent, via_template = _walk(root, tuple(error["loc"]))
    value = repr(error.get("input"))
    value = value if len(value) <= 60 else value[:57] + "..."
    if error["type"] == "extra_forbidden":
        fields = parent.model_fields if parent is not None else {}
        return path, via_template, "unknown field", ", ".join(sorted(fields))
    if error["type"] == "missing":
        return path, via_template, "missing (required)", describe(node)
    message = error["msg"][:1].lower() + error["msg"][1:]
    return path, via_template, f"{value} is invalid ({message})", describe(node)


def schema_error(
    error: pydantic.ValidationError,
    root: type[pydantic.BaseModel],
    source: Path,
    tree: SourcePositionTree | None = None,
) -> str:
    """One line per problem of ``error`` (validating ``root`` from ``source``), with its line."""
    lines = [_line(e, root) for e in error.errors()]
    real = [path for path, via_template, *_ in lines if not via_template]
    text = []
    for path, via_template, problem, allowed in lines:
        if via_template and any(p[: len(path)] == path for p in real):
            continue  # the value was no template string: only the other branch's error matters
        where = source
        if tree is not None:
            where = tree.lookup_closest_and_path(["attributes", *path], None)[0]
        line = f"{where}: {_dotted(path)}: {problem}; allowed: {allowed}"
        if line not in text:
            text.append(line)
    return "\n".join(text)
