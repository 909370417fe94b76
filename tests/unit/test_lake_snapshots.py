"""Rows read at a lake snapshot: a real DuckLake (SQLite catalog) in a temporary folder."""

import datetime as dt
from pathlib import Path

import duckdb
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from factory_assets.lib.lake import Lake
from factory_assets.lib.lake_snapshots import (
    current_snapshot,
    labelled_frames,
    read_labelled,
    read_labelled_at,
    recorded_snapshot,
)
from factory_assets.lib.model_card import model_card
from factory_assets.lib.model_line import ModelLine, Segments
from factory_assets.lib.packaging import data_version
from factory_assets.lib.registry import Registry, registered_snapshots
from factory_assets.lib.training.dataset import ModelColumns
from factory_assets.lib.training_sets import NotRecorded, Recorded, content_hash, split_of

COLUMNS = ModelColumns("item_id", "day", "y", ("shop",), ("x",))
LINE = ModelLine("m", "feats", COLUMNS, labels_from="labels")
SEGMENTED = ModelLine("m", "feats", COLUMNS, labels_from="labels",
                      segments=Segments("shop", ("a", "b"), 1, "m_all"))  # fmt: skip
WINDOW = (dt.date(2024, 1, 1), dt.date(2024, 1, 3))


def fill(lake: Lake) -> Lake:
    """Three days of features in ``lake``; day 3's label has not landed."""
    with lake.connect() as conn:
        conn.execute(
            "create table feats as select i as item_id, date '2024-01-01' + (i // 4)::int as day, "
            "if(i % 2 = 0, 'a', 'b') as shop, i * 1.5 as x from range(12) t(i)"
        )
        conn.execute(
            "create table labels as select i as item_id, i % 3 = 0 as y from range(8) t(i)"
        )
    return lake


@pytest.fixture
def lake(tmp_path: Path) -> Lake:
    """A lake with a SQLite catalog, filled."""
    return fill(Lake.parse(tmp_path / "lake.sqlite"))


def land_more(lake: Lake) -> None:
    """A newer day, day 3's labels, and a restated label of day 1."""
    with lake.connect() as conn:
        conn.execute(
            "insert into feats select i, date '2024-01-04', 'a', i * 1.5 from range(12, 16) t(i)"
        )
        conn.execute("insert into labels select i, true from range(8, 16) t(i)")
        conn.execute("update labels set y = not y where item_id = 1")


def test_rows_read_at_their_snapshot_are_the_same_after_newer_days(lake: Lake) -> None:
    frames, snapshot = read_labelled(lake, LINE, WINDOW, [None])
    assert frames[None].height == 8  # day 3 has no labels yet
    land_more(lake)
    again = read_labelled_at(lake, LINE, WINDOW, [None], snapshot)[None]
    assert_frame_equal(again, frames[None])
    assert data_version(again, ("2024-01-01", "2024-01-03")) == data_version(
        frames[None], ("2024-01-01", "2024-01-03")
    )
    now, newest = read_labelled(lake, LINE, WINDOW, [None])
    assert newest > snapshot and now[None].height == 12
    assert data_version(now[None], ("2024-01-01", "2024-01-03")) != data_version(
        frames[None], ("2024-01-01", "2024-01-03")
    )


def test_a_segmented_line_reads_each_segment_at_the_snapshot(lake: Lake) -> None:
    frames, snapshot = read_labelled(lake, SEGMENTED, WINDOW, ["a", "b"])
    land_more(lake)
    again = read_labelled_at(lake, SEGMENTED, WINDOW, ["a", "b"], snapshot)
    for shop in ("a", "b"):
        assert_frame_equal(again[shop], frames[shop])
        assert set(again[shop]["shop"]) == {shop}


def test_a_transaction_reads_one_snapshot_while_another_process_commits(lake: Lake) -> None:
    with lake.connect() as reader:
        reader.execute("begin transaction")
        snapshot = current_snapshot(reader)
        before = labelled_frames(reader, LINE, WINDOW, [None])[None]
        land_more(lake)  # another connection commits three snapshots meanwhile
        assert current_snapshot(reader) == snapshot
        assert_frame_equal(labelled_frames(reader, LINE, WINDOW, [None])[None], before)
        reader.execute("rollback")
        assert current_snapshot(reader) == snapshot + 3


def test_a_snapshot_connection_is_read_only_and_an_unknown_snapshot_fails(lake: Lake) -> None:
    assert "SNAPSHOT_VERSION 2" in lake.attach_sql(snapshot=2)
    assert "READ_ONLY" in lake.attach_sql(snapshot=2)
    _, snapshot = read_labelled(lake, LINE, WINDOW, [None])
    with lake.connect(snapshot=snapshot) as conn, pytest.raises(duckdb.Error):
        conn.execute("insert into labels values (99, true)")
    with pytest.raises(duckdb.InvalidInputException, match="No snapshot"):
        read_labelled_at(lake, LINE, WINDOW, [None], snapshot + 100)


def test_recorded_rows_split_and_hash_as_the_model_station_did(lake: Lake) -> None:
    frames, snapshot = read_labelled(lake, LINE, WINDOW, [None])
    tags = {"lake_snapshot": str(snapshot), "train_start": "2024-01-01", "train_end": "2024-01-01",
            "val_end": "2024-01-03", "data_version": "sha256:0"}  # fmt: skip
    recorded = Recorded.of(tags, {"shuffle_labels": "False", "seed": "13"})
    rows = frames[None]
    assert content_hash(rows, LINE, recorded) == data_version(rows, ("2024-01-01", "2024-01-03"))
    train, val = (split_of(rows, LINE, recorded, s) for s in ("train", "val"))
    assert train.height == 4 and val.height == 4
    assert set(val["day"]) == {dt.date(2024, 1, 2)}
    shuffled = Recorded.of(tags, {"shuffle_labels": "True", "seed": "13"})
    expected = rows.with_columns(pl.col("y").shuffle(seed=13))
    window = ("2024-01-01", "2024-01-03")
    assert content_hash(rows, LINE, shuffled) == data_version(expected, window)
    with pytest.raises(NotRecorded, match="lake_snapshot"):
        Recorded.of({k: v for k, v in tags.items() if k != "lake_snapshot"}, {})


def test_registered_snapshots_lists_what_every_version_names(tmp_path: Path) -> None:
    registry = Registry(f"sqlite:///{tmp_path / 'mlflow.db'}")
    client = registry.client
    for name, tags in {
        "a": {"lake_snapshot": "4", "lake_snapshot_evaluation": "6"},
        "b": {"lake_snapshot": "9"},
        "c": {"data_version": "sha256:1"},  # registered before versions recorded snapshots
    }.items():
        client.create_registered_model(name)
        client.create_model_version(name, (tmp_path / name).as_uri(), tags=tags)
    client.create_model_version("a", (tmp_path / "a2").as_uri(), tags={"lake_snapshot": "11"})
    assert registered_snapshots(registry) == {4, 6, 9, 11}


def test_the_model_card_names_the_snapshots() -> None:
    card = model_card(
        name="m", version="1", description="d", label="y", features="feats",
        data_version="sha256:1", code_version="c", window={"train": ["2024-01-01", "2024-01-02"]},
        params={}, metrics={"auc": 0.7}, segment_tables={}, importance_table=None,
        gate={"promoted": True, "reason": "r"}, snapshots={"training": "7", "evaluation": "9"},
    )  # fmt: skip
    assert "- Lake snapshot (training rows): 7\n" in card
    assert "- Lake snapshot (evaluation rows): 9\n" in card


def test_a_later_station_finds_the_snapshot_the_earlier_one_recorded() -> None:
    results = {"a": {"lake_snapshot": "7"}, "b": {"lake_snapshot": "7"}, "c": {"fallback": "m"}}
    assert recorded_snapshot(results, "lake_snapshot") == 7
    assert recorded_snapshot({None: {"metrics": {}}}, "lake_snapshot") is None  # older results
