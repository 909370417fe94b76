"""A champion's drift reference: its training rows with its own served predictions, built once.

A champion's reference is fixed. It is kept for the process and, given the report store, as
Parquet beside the model's reports, so a step process of a later run reads it (~0.1 s) instead of
querying the training window and scoring it again (~3 s for a 90-day flights window, with the
model's loading).
"""

import hashlib
import json
import os
from pathlib import Path

import polars as pl

from factory_assets.lib.model_line import ModelLine

_REFERENCES: dict = {}  # (store, model, version, window) -> (rows, profiles by columns)


class DriftError(Exception):
    """A period that cannot be judged: a served model has no usable champion reference."""


def reference(duckdb, tracking, line: ModelLine, name: str, reports=None):  # noqa: ANN001, ANN201
    """The champion of ``name``, its training window, and its rows with its own predictions.

    ``reports``: the report store, where the reference is kept (None: this process only).
    """
    registry = tracking.registry()
    champion = registry.version(name, "champion")
    if champion is None:
        raise DriftError(f"model {name!r} has no champion: nothing to compare with")
    if "train_start" not in champion.tags:
        raise DriftError(f"{name} v{champion.version} has no train_start/train_end tags")
    window = (champion.tags["train_start"], champion.tags["train_end"])
    if line.batches:  # the training rows of the batches it saw, not of those landed since
        if "last_batch" not in champion.tags:
            raise DriftError(f"{name} v{champion.version} has no last_batch tag")
        window = (*window, champion.tags["last_batch"])
    key = (tracking.tracking_uri, name, str(champion.version), window)
    if key not in _REFERENCES:
        saved = None
        if reports is not None:
            identity = [line.window_sql(), window, champion.run_id]  # two stores' v1 differ
            digest = hashlib.sha1(json.dumps(identity).encode()).hexdigest()
            saved = reports.path(name, f"drift_reference_v{champion.version}_{digest[:12]}.parquet")
        frame = _read(saved) if saved else None
        if frame is None:
            frame = _scored_reference(duckdb, registry, line, name, champion, window)
            if saved:
                _write(saved, frame)
        if len(_REFERENCES) > 64:
            _REFERENCES.clear()
        _REFERENCES[key] = (frame, {})
    frame, profiles = _REFERENCES[key]
    return champion, window, frame, profiles


def _scored_reference(duckdb, registry, line: ModelLine, name: str, champion, window):  # noqa: ANN001, ANN202, PLR0913
    """The champion's training rows (its segment's) with its own served prediction."""
    from factory_assets.lib.scoring import load_alias

    _, model = load_alias(registry, name, "champion")
    with duckdb.get_connection() as conn:
        frame = conn.sql(line.window_sql(), params=list(window)).pl()
    if "segment" in champion.tags:
        frame = frame.filter(pl.col(champion.tags["segment_column"]) == champion.tags["segment"])
    served = line.task.prediction_columns(model.predict(frame))[line.task.output_column]
    return frame.with_columns(served.alias("prediction"))


def _read(path: Path) -> pl.DataFrame | None:
    try:
        return pl.read_parquet(path)
    except (OSError, pl.exceptions.PolarsError):
        return None


def _write(path: Path, frame: pl.DataFrame) -> None:
    """Whole or not at all: a draft renamed into place.

    Not ``files.write_atomic``: steps of one run may write the same reference at once, unlocked,
    so each writes a draft of its own (write_atomic's draft name is shared).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    draft = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    frame.write_parquet(draft)
    draft.replace(path)
