"""A model served by declaration: request rows, lookups in its snapshot, routing, scoring.

``LookupOnline`` opens one snapshot of ``build_lookup`` (lib/online/lookup.py): its request
model is generated from the contract (the entity keys, then the inputs sent with the request,
typed as the feature table's columns), a request row becomes the snapshot's row of its keys with
the sent inputs put over it, and each row is scored by the champion of its segment (or the
fallback) through the same preprocessor and ONNX graph as the batch line: online equals batch.
"""

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pydantic
from pydantic import BaseModel, Field, StrictBool, StrictInt, StrictStr

from factory_assets.lib.online.contract import Contract
from factory_assets.lib.online.lookup import ROWS, LookupManifest, parse_day
from factory_assets.lib.online.request import InputError
from factory_assets.lib.online.snapshot import MANIFEST
from factory_assets.lib.tasks import Task

SHOWN = 8  # vocabulary values a 422 lists


class Unavailable(RuntimeError):
    """A request the service cannot score yet (no champion): the message says what to run."""


@dataclass(frozen=True)
class Answer:
    """Predictions of a request, the versions that made them, and what the shadow scores."""

    predictions: list[dict]
    versions: dict[str, str]  # registered model -> version
    shadow: list[tuple]  # (registered, inputs, predictions, keys, dates) per model used


def _annotation(dtype: pl.DataType, nullable: bool) -> object:
    if dtype == pl.String or dtype == pl.Categorical:
        kind = StrictStr
    elif dtype == pl.Boolean:
        kind = StrictBool
    elif dtype.is_integer():
        kind = StrictInt
    elif dtype == pl.Date:
        kind = dt.date
    elif dtype == pl.Datetime:
        kind = dt.datetime
    else:
        kind = float
    return kind | None if nullable else kind


def _error(loc: list, msg: str, kind: str) -> dict:
    return {"loc": ["body", "rows", *loc], "msg": msg, "type": kind}


class LookupOnline:
    """One snapshot of a model served by declaration (no feature function)."""

    items = "rows"  # the request body's list

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self.contract = c = Contract.read(directory)
        self.manifest = LookupManifest(**json.loads((self.directory / MANIFEST).read_text()))
        self.as_of = self.manifest.as_of
        self.rows = pl.read_parquet(self.directory / f"{ROWS}.parquet")
        self.task = Task(c.task, tuple(c.classes))
        self.index = {k: i for i, k in enumerate(self.rows.select(c.entity).rows())}
        self.first, self.last = (
            parse_day(self.manifest.first_day),
            parse_day(self.manifest.last_day),
        )
        schema = self.rows.schema
        self.dates = [k for k in c.entity if schema[k] in (pl.Date, pl.Datetime)]
        self.request_model = self._request_model(schema)

    def _request_model(self, schema: pl.Schema) -> type[BaseModel]:
        c = self.contract
        fields = {
            k: (_annotation(schema[k], False), Field(description="entity key")) for k in c.entity
        }
        for column in c.request:
            what = "category" if column in c.categorical else "number"
            bounds = self.manifest.ranges.get(column)
            if bounds:
                what += f", seen in training within [{bounds[0]}, {bounds[1]}]"
            fields[column] = (_annotation(schema[column], True), Field(description=what))
        config = pydantic.ConfigDict(extra="forbid", allow_inf_nan=False)
        row = pydantic.create_model(f"{_camel(c.name)}Row", __config__=config, **fields)
        body = pydantic.create_model(
            f"{_camel(c.name)}Request",
            rows=(list[row], Field(min_length=1, description="at most FACTORY_SERVE_MAX_ROWS")),
        )
        body.__doc__ = (
            f"Rows to score with {c.name}: its entity keys ({', '.join(c.entity)})"
            + (f" and the inputs {', '.join(c.request)}" if c.request else "")
            + "; every other input is looked up in its online snapshot."
        )
        return body

    def _checked(self, items: list) -> list[int]:
        """Each row's index in the snapshot; InputError names every field that does not fit."""
        c, errors, found = self.contract, [], []
        lookup = bool(c.lookups)
        for i, item in enumerate(items):
            for k in self.dates:
                day = getattr(item, k)
                day = day.date() if isinstance(day, dt.datetime) else day
                if self.first and not (self.first <= day <= self.last):
                    window = f"{self.first} … {self.last}"
                    errors.append(_error([i, k], f"{day} is outside the snapshot's window "
                                         f"{window}", "value_error.date"))  # fmt: skip
            for column in c.request:
                bounds, value = self.manifest.ranges.get(column), getattr(item, column)
                if bounds and value is not None and not isinstance(value, str):
                    lo, hi = bounds
                    slack = c.tolerance * (hi - lo)
                    if not (lo - slack <= value <= hi + slack):
                        errors.append(_error([i, column], f"{value} is outside the range seen in "
                                             f"training [{lo}, {hi}] (tolerance {c.tolerance:g} "
                                             "of its width)", "value_error.range"))  # fmt: skip
            if lookup:
                key = tuple(getattr(item, k) for k in c.entity)
                at = self.index.get(key)
                if at is None and not errors:
                    shown = dict(zip(c.entity, key, strict=True))
                    window = f" ({self.first} … {self.last})" if self.first else ""
                    errors.append(_error([i, c.entity[0]], f"no row of {shown} in the online "
                                         f"snapshot of {c.features} as of {self.as_of or 'now'}"
                                         f"{window}", "value_error.lookup"))  # fmt: skip
                found.append(at)
        if errors:
            raise InputError(errors)
        return found

    def frame(self, items: list) -> pl.DataFrame:
        """The feature rows of ``items``: snapshot rows by key, the sent inputs put over them."""
        c, schema = self.contract, self.rows.schema
        at = self._checked(items)
        sent = {
            k: [getattr(item, k) for item in items] for k in dict.fromkeys([*c.entity, *c.request])
        }
        if c.lookups:
            base = self.rows[at]
            given = {k: v for k, v in sent.items() if k in c.request}
        else:
            base, given = pl.DataFrame(height=len(items)), sent
        columns = [pl.Series(k, v, dtype=schema[k], strict=False) for k, v in given.items()]
        return base.with_columns(columns) if columns else base

    def _route(self, frame: pl.DataFrame, served: dict) -> list[str]:
        """The registered model of each row: its segment's champion, else the fallback."""
        c = self.contract
        if not c.segment_column:
            return [c.name] * frame.height
        out = []
        for value in frame[c.segment_column].to_list():
            name = c.segments.get(str(value))
            out.append(name if name in served else c.fallback)
        return out

    def _vocabulary(self, items: list, frame: pl.DataFrame, route: list[str], served: dict) -> None:
        c = self.contract
        if c.unknown_categories != "reject":
            return
        errors = []
        for column in (k for k in c.request if k in c.categorical):
            for i, (value, name) in enumerate(zip(frame[column].to_list(), route, strict=True)):
                vocab = served[name].vocab(column)
                if value is not None and value not in vocab:
                    listed = ", ".join(map(str, vocab[:SHOWN])) + (
                        ", …" if len(vocab) > SHOWN else ""
                    )
                    errors.append(_error([i, column], f"{value!r} is not in the vocabulary of "
                                         f"{column} that {name} v{served[name].version} was "
                                         f"trained on ({len(vocab)} values: {listed})",
                                         "value_error.vocabulary"))  # fmt: skip
        if errors:
            raise InputError(errors)

    def answer(self, body: BaseModel, served: dict) -> Answer:
        """Score a validated request with ``served`` (registered name -> loaded model).

        Raises:
            InputError: a row's keys, dates, numbers or categories do not fit (a 422).
            Unavailable: a row's model has no champion loaded.
        """
        c, items = self.contract, body.rows
        frame = self.frame(items)
        route = self._route(frame, served)
        absent = sorted({name for name in route if name is None or name not in served}, key=str)
        if absent:
            raise Unavailable(f"no champion of {', '.join(map(str, absent))} is loaded")
        self._vocabulary(items, frame, route, served)
        if c.key in frame.columns:
            keys = frame.select(list(dict.fromkeys([*c.entity, c.key]))).to_dicts()
        else:
            keys = [{k: getattr(item, k) for k in c.entity} for item in items]
        dates = (
            frame[c.date].to_list() if c.date and c.date in frame.columns else [None] * len(items)
        )
        predictions: list[dict | None] = [None] * frame.height
        versions, shadow = {}, []
        for name in dict.fromkeys(route):
            rows = [i for i, r in enumerate(route) if r == name]
            part = frame[rows] if len(rows) < frame.height else frame
            model = served[name]
            pred = model.predict(part)
            columns = {k: s.to_list() for k, s in self.task.prediction_columns(pred).items()}
            for j, i in enumerate(rows):
                out = {k: v[j] for k, v in columns.items()}
                predictions[i] = {**keys[i], **out, "model": name, "version": model.version}
            versions[name] = model.version
            shadow.append((name, part, pred, [keys[i] for i in rows], [dates[i] for i in rows]))
        return Answer(predictions, versions, shadow)


def _camel(name: str) -> str:
    return "".join(part.title() for part in name.split("_"))
