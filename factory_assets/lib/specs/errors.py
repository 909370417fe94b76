"""One formatter for every spec: pydantic's errors as ``<where>: <field>: <problem>; allowed: ...``.

Single-field rules are pydantic constraints (``Field(ge=..., le=...)``, ``Literal``, a pattern
made by ``pattern``); cross-field rules are validators beside the fields that raise ``rule``.
``spec_error`` reads either kind back into one line per problem, naming where it is written
(``locate``: the file and line, from the positions Dagster's YAML loader tracks).
"""

import types
import typing
from collections.abc import Callable, Iterable

import annotated_types
import pydantic
from pydantic_core import PydanticCustomError

SCALARS = {str: "a string", int: "an integer", float: "a number", bool: "true or false"}
PLURALS = {str: "strings", int: "integers", float: "numbers", bool: "booleans"}
PATTERNS: dict[str, tuple[str, str]] = {}  # regex -> (what a match is, what is allowed)
MAX_LISTED = 40
Path = list[str | int]
Locate = Callable[[Path], str]


class SpecError(ValueError):
    """A spec that breaks its rules: one line per problem (where, field, what is allowed).

    Attributes:
        fields: the dotted field of each line, in order; ``field`` is the first.

    """

    def __init__(self, lines: list[str], fields: list[str]) -> None:
        self.lines, self.fields, self.field = lines, fields, fields[0]
        super().__init__("\n".join(lines))


def pattern(regex: str, noun: str, allowed: str) -> object:
    """A string type matching ``regex`` (shown in the JSON schema); errors say ``allowed``."""
    PATTERNS[regex] = (noun, allowed)
    return typing.Annotated[str, pydantic.StringConstraints(pattern=regex)]


def rule(problem: str, allowed: str | None = None, at: tuple = ()) -> PydanticCustomError:
    """The error a validator raises: the problem, what is allowed, and the sub-field ``at``."""
    return PydanticCustomError(
        "spec_rule", "{problem}", {"problem": problem, "allowed": allowed, "at": at}
    )


def listing(values: Iterable[object], limit: int = MAX_LISTED) -> str:
    """``values`` as ``a, b, c`` (at most ``limit`` of them, then how many in all)."""
    items = [str(v) for v in values]
    shown = ", ".join(items[:limit])
    return shown + (f", … ({len(items)} in all)" if len(items) > limit else "")


def describe(annotation: object) -> str:
    """What a field of this type accepts, in words."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Annotated:
        return describe(args[0])
    if origin in (typing.Union, types.UnionType):
        kept = [describe(a) for a in args if a is not type(None)]
        return " or ".join(dict.fromkeys(kept)) + (
            " (or leave it out)" if type(None) in args else ""
        )
    if origin is typing.Literal:
        return "one of " + ", ".join(map(str, args))
    if origin is list:
        inner = _members(args[0])[0] if args else None
        return "a list of " + PLURALS.get(inner, describe(inner) if args else "values")
    if origin is dict or annotation is dict:
        return "a mapping"
    if _is_model(annotation):
        return "a mapping of " + ", ".join(annotation.model_fields)
    return SCALARS.get(annotation, getattr(annotation, "__name__", str(annotation)))


def _is_model(annotation: object) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, pydantic.BaseModel)


def _members(node: object) -> tuple:
    if typing.get_origin(node) is typing.Annotated:
        node = typing.get_args(node)[0]
    union = typing.get_origin(node) in (typing.Union, types.UnionType)
    return typing.get_args(node) if union else (node,)


def _walk(root: type[pydantic.BaseModel], loc: Iterable) -> tuple[Path, object, object, object]:
    """Where ``loc`` points: the field path (no union tags), its type, model and field info."""
    path: Path = []
    node, parent, info = root, None, None
    for part in loc:
        members = _members(node)
        model = next((m for m in members if _is_model(m)), None)
        container = next((m for m in members if typing.get_origin(m) in (dict, list)), None)
        if model is not None and part in model.model_fields:
            info = model.model_fields[part]
            path.append(part)
            parent, node = model, info.annotation
        elif model is not None and isinstance(part, str) and container is None:
            path.append(part)  # a field the model does not have
            parent, node, info = model, None, None
        elif part == "[key]":
            path.pop()  # a bad mapping key: the mapping is the field
            node = typing.get_args(container)[0] if container else None
        elif container is not None and not any(
            getattr(m, "__name__", None) == part for m in members
        ):
            path.append(part)  # a mapping key or a list index
            node = typing.get_args(container)[-1]
        # else: a tag naming a union member or a parametrised type
    return path, node, parent, info


def _bounds(info: object) -> str | None:
    metadata = getattr(info, "metadata", [])
    low = next((m.ge for m in metadata if isinstance(m, annotated_types.Ge)), None)
    high = next((m.le for m in metadata if isinstance(m, annotated_types.Le)), None)
    if low is not None and high is not None:
        return f"{low} … {high}"
    return f">= {low}" if low is not None else (f"<= {high}" if high is not None else None)


def _problem(error: dict, root: type[pydantic.BaseModel]) -> tuple[Path, str, str | None]:
    """The field path, the problem and what is allowed, of one pydantic error."""
    kind, ctx = error["type"], error.get("ctx") or {}
    path, node, parent, info = _walk(root, error["loc"])
    value = repr(error.get("input"))
    value = value if len(value) <= 60 else value[:57] + "..."
    if kind == "spec_rule":
        return [*path, *ctx.get("at", ())], ctx["problem"], ctx.get("allowed")
    if kind == "extra_forbidden":
        fields = parent.model_fields if parent is not None else {}
        return path, "unknown field", listing(sorted(fields))
    if kind == "missing":
        return path, "missing (required)", describe(node)
    if kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
        return path, f"{value} is impossible", _bounds(info) or error["msg"]
    if kind == "too_short":
        count = ctx.get("min_length", 1)
        return path, f"{value} is too short", "one or more items" if count == 1 else f"{count}+"
    if kind == "string_pattern_mismatch" and ctx.get("pattern") in PATTERNS:
        noun, allowed = PATTERNS[ctx["pattern"]]
        return path, f"{value} is not {noun}", allowed
    if kind == "literal_error":
        return path, f"{value} is invalid", describe(node)
    message = error["msg"][:1].lower() + error["msg"][1:]
    return path, f"{value} is invalid ({message})", describe(node)


def dotted(path: Path) -> str:
    """``data.numeric[1]`` of ``["data", "numeric", 1]``."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text.lstrip(".") or "attributes"


def spec_error(
    error: pydantic.ValidationError, root: type[pydantic.BaseModel], locate: Locate
) -> SpecError:
    """One line per problem of ``error`` (validating ``root``): ``locate(path)`` says where."""
    lines, fields = [], []
    for problem in error.errors():
        path, text, allowed = _problem(problem, root)
        line = f"{locate(path)}: {dotted(path)}: {text}" + (
            f"; allowed: {allowed}" if allowed else ""
        )
        if line not in lines:
            lines.append(line)
            fields.append(dotted(path))
    return SpecError(lines, fields)


def validated(
    model: type[pydantic.BaseModel], data: object, locate: Locate, context: dict | None = None
) -> pydantic.BaseModel:
    """``model`` validated from ``data``, or SpecError with one line per problem."""
    try:
        return model.model_validate(data, context=context)
    except pydantic.ValidationError as err:
        raise spec_error(err, model, locate) from None


def at_file(file: object) -> Locate:
    """A ``locate`` for a spec read without positions: every problem is at ``file``."""
    return lambda path: str(file)
