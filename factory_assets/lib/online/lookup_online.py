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

import numpy as np
import polars as pl
import pydantic
from pydantic import BaseModel, Field, StrictBool, StrictInt, StrictStr

from factory_assets.lib.online.blocks import FeatureBlock
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
        # the snapshot as arrays: what OnlineScorer reads, gathered per request by row index
        numeric = self.rows.select(pl.col(c.numeric).cast(pl.Float64))
        self.values = numeric.fill_null(0.0).to_numpy().reshape(self.rows.height, len(c.numeric))
        self.valid = numeric.select(pl.all().is_not_null()).to_numpy().reshape(self.values.shape)
        self.column = {k: j for j, k in enumerate(c.numeric)}
        self.labels = {k: self.rows[k].to_list() for k in c.categorical}
        self.keys = self.rows.select(list(dict.fromkeys([*c.entity, c.key]))).to_dicts()
        self.days = self.rows[c.date].to_list() if c.date else [None] * self.rows.height
        column = c.segment_column
        self.segments = self.rows[column].to_list() if column else []

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

    def batch(self, items: list) -> "_Rows":
        """The feature rows of ``items``: snapshot rows by key, the sent inputs put over them.

        As arrays (``Table``-like: float64 values, validity, labels), what ``OnlineScorer``
        reads; the same numbers as ``Preprocessor.transform`` gives the batch's rows.
        """
        c, n = self.contract, len(items)
        at = self._checked(items)
        if c.lookups:
            values, valid = self.values[at], self.valid[at]
            labels = {k: [self.labels[k][i] for i in at] for k in self.labels}
            keys = [self.keys[i] for i in at]
            dates = [self.days[i] for i in at]
        else:
            values = np.zeros((n, len(c.numeric)))
            valid = np.zeros((n, len(c.numeric)), dtype=bool)
            labels, keys = {}, [{k: getattr(item, k) for k in c.entity} for item in items]
            dates = [None] * n
        for column in c.request:
            sent = [getattr(item, column) for item in items]
            if column in self.column:
                j, narrow = self.column[column], self.rows.schema[column] == pl.Float32
                for r, v in enumerate(sent):
                    values[r, j] = 0.0 if v is None else float(np.float32(v) if narrow else v)
                    valid[r, j] = v is not None
            else:
                labels[column] = sent
        if c.segment_column and c.segment_column in c.entity:
            segments = [getattr(item, c.segment_column) for item in items]
        elif c.segment_column in labels:
            segments = labels[c.segment_column]
        else:
            segments = [self.segments[i] for i in at] if c.segment_column else []
        return _Rows(labels, values, valid, keys, dates, segments)

    def _route(self, rows: "_Rows", served: dict) -> list[str]:
        """The registered model of each row: its segment's champion, else the fallback."""
        c = self.contract
        if not c.segment_column:
            return [c.name] * len(rows.keys)
        out = []
        for value in rows.segments:
            name = c.segments.get(str(value))
            out.append(name if name in served else c.fallback)
        return out

    def _vocabulary(self, rows: "_Rows", route: list[str], served: dict) -> None:
        c = self.contract
        if c.unknown_categories != "reject":
            return
        errors = []
        for column in (k for k in c.request if k in c.categorical):
            for i, (value, name) in enumerate(zip(rows.labels[column], route, strict=True)):
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
        rows = self.batch(body.rows)
        route = self._route(rows, served)
        absent = sorted({name for name in route if name is None or name not in served}, key=str)
        if absent:
            raise Unavailable(f"no champion of {', '.join(map(str, absent))} is loaded")
        self._vocabulary(rows, route, served)
        predictions: list[dict | None] = [None] * len(route)
        versions, shadow = {}, []
        for name in dict.fromkeys(route):
            mine = [i for i, r in enumerate(route) if r == name]
            part = rows.block(self.contract.numeric, mine if len(mine) < len(route) else None)
            model = served[name]
            pred = model.predict(part)
            columns = {k: s.to_list() for k, s in self.task.prediction_columns(pred).items()}
            for j, i in enumerate(mine):
                out = {k: v[j] for k, v in columns.items()}
                predictions[i] = {**rows.keys[i], **out, "model": name, "version": model.version}
            versions[name] = model.version
            shadow.append((name, part, pred, part.ids, part.dates))
        return Answer(predictions, versions, shadow)


@dataclass(frozen=True)
class _Rows:
    """A request's feature rows as arrays, with each row's keys, date and segment."""

    labels: dict[str, list]  # categorical inputs
    values: np.ndarray  # float64 [rows, numeric], 0 where null
    valid: np.ndarray  # bool, same shape
    keys: list[dict]
    dates: list
    segments: list

    def block(self, numeric: list[str], rows: list[int] | None) -> FeatureBlock:
        """The rows (all, or ``rows``) as the FeatureBlock ``OnlineScorer`` scores.

        Its ``ids`` hold each row's keys (a dict), its ``dates`` each row's date: what the
        shadow log writes of a row. It has no schema: the scorer takes its arrays.
        """
        if rows is None:
            return FeatureBlock(self.keys, self.dates, self.labels, tuple(numeric), self.values,
                                self.valid, pl.Schema())  # fmt: skip
        return FeatureBlock(
            [self.keys[i] for i in rows],
            [self.dates[i] for i in rows],
            {k: [v[i] for i in rows] for k, v in self.labels.items()},
            tuple(numeric),
            self.values[rows],
            self.valid[rows],
            pl.Schema(),
        )


def _camel(name: str) -> str:
    return "".join(part.title() for part in name.split("_"))
