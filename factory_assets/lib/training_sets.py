"""A registered version's rows read back from the lake snapshots it recorded, and their hash.

The model station hashes the labelled rows of its training and validation window
(``lib/packaging.py`` ``data_version``) and tags the run and the version with the lake snapshot
it read them at; the evaluation station does the same for the holdout. From those tags
(``lib/registration.py`` ``snapshot_tags``) the same rows come back, whatever landed since.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import polars as pl

from factory_assets.lib.lake import Lake
from factory_assets.lib.lake_snapshots import EVALUATION_TAG, TRAINING_TAG, read_labelled_at
from factory_assets.lib.model_line import ModelLine

SPLITS = ("training", "train", "val", "holdout", "all")  # training: train + val (the hashed)
SPLIT_COLUMN = "_split"  # which split a row of ``all`` belongs to


class NotRecorded(LookupError):
    """A version registered before it recorded its lake snapshot (or without a holdout one)."""


@dataclass(frozen=True)
class Recorded:
    """What a registered version recorded about its rows."""

    snapshot: int  # the lake snapshot of the training and validation rows
    train_start: str
    train_end: str
    val_end: str
    data_version: str  # the content hash of the training and validation rows
    segment: str | None = None
    shuffle_labels: bool = False
    seed: int = 13
    evaluation_snapshot: int | None = None  # the lake snapshot of the holdout rows
    holdout: tuple[str, str] | None = None

    @classmethod
    def of(cls, tags: dict[str, str], params: dict[str, str]) -> Recorded:
        """From a model version's tags and its training run's params.

        Raises:
            NotRecorded: the version has no ``lake_snapshot`` tag.
        """
        if not tags.get(TRAINING_TAG):
            raise NotRecorded(
                f"the version has no {TRAINING_TAG!r} tag: it was registered before versions "
                "recorded the lake snapshot of their rows"
            )
        evaluated = tags.get(EVALUATION_TAG)
        return cls(
            snapshot=int(tags[TRAINING_TAG]),
            train_start=tags["train_start"],
            # a refitted version's train_end is its refit's: the gated model's window is recorded
            train_end=tags.get("gated_train_end", tags["train_end"]),
            val_end=tags["val_end"],
            data_version=tags["data_version"],
            segment=tags.get("segment") or None,
            shuffle_labels=params.get("shuffle_labels") == "True",
            seed=int(params.get("seed", 13)),
            evaluation_snapshot=int(evaluated) if evaluated else None,
            holdout=(tags["holdout_start"], tags["holdout_end"]) if evaluated else None,
        )

    @property
    def window(self) -> tuple[dt.date, dt.date]:
        """The training and validation dates the model station read (inclusive)."""
        return dt.date.fromisoformat(self.train_start), dt.date.fromisoformat(self.val_end)


def training_rows(lake: Lake, line: ModelLine, recorded: Recorded) -> pl.DataFrame:
    """The labelled training and validation rows, as the model station read them."""
    segment = recorded.segment
    return read_labelled_at(lake, line, recorded.window, [segment], recorded.snapshot)[segment]


def content_hash(frame: pl.DataFrame, line: ModelLine, recorded: Recorded) -> str:
    """``data_version`` of ``training_rows`` as the model station computed it."""
    from factory_assets.lib.packaging import data_version

    if recorded.shuffle_labels:  # a shuffled-label control run hashed its shuffled rows
        frame = frame.with_columns(pl.col(line.columns.label).shuffle(seed=recorded.seed))
    return data_version(frame, (recorded.train_start, recorded.val_end))


def holdout_rows(lake: Lake, line: ModelLine, recorded: Recorded) -> pl.DataFrame:
    """The labelled holdout rows the evaluation station judged the model on.

    Raises:
        NotRecorded: the version recorded no evaluation snapshot.
    """
    if recorded.evaluation_snapshot is None or recorded.holdout is None:
        raise NotRecorded(f"the version has no {EVALUATION_TAG!r} tag")
    segment, snapshot = recorded.segment, recorded.evaluation_snapshot
    window = tuple(dt.date.fromisoformat(day) for day in recorded.holdout)
    return read_labelled_at(lake, line, window, [segment], snapshot)[segment]


def split_of(frame: pl.DataFrame, line: ModelLine, recorded: Recorded, split: str) -> pl.DataFrame:
    """``train`` or ``val`` rows of ``training_rows`` (``training``: all of them)."""
    date, (start, last), end = pl.col(line.columns.date), recorded.window, recorded.train_end
    end = dt.date.fromisoformat(end)  # as segment_fallback splits them
    if split == "train":
        return frame.filter(date.is_between(start, end))
    if split == "val":
        return frame.filter(date.is_between(end + dt.timedelta(days=1), last))
    return frame


def export_rows(lake: Lake, line: ModelLine, recorded: Recorded, split: str) -> pl.DataFrame:
    """The rows of ``split`` (SPLITS); ``all`` is every split, named in column ``_split``."""
    if split not in SPLITS:
        raise ValueError(f"split {split!r} is unknown; allowed: {', '.join(SPLITS)}")
    if split == "holdout":
        return holdout_rows(lake, line, recorded)
    rows = training_rows(lake, line, recorded)
    if split != "all":
        return split_of(rows, line, recorded, split)
    parts = [
        split_of(rows, line, recorded, name).with_columns(pl.lit(name).alias(SPLIT_COLUMN))
        for name in ("train", "val")
    ]
    holdout = holdout_rows(lake, line, recorded)
    parts.append(holdout.with_columns(pl.lit("holdout").alias(SPLIT_COLUMN)))
    return pl.concat(parts, how="vertical_relaxed")
