"""Time travel: a registered version's rows come back from its lake snapshot after newer days.

A real lake (the built line's copy), a real MLflow store and the real flights line: train,
evaluate and register version 1, land and ingest a newer day through the line (it brings the
outcomes of the last day of the validation window, so today's rows of the window differ), then
export the version's rows with ``factory training-set`` and retrain from its snapshot.
"""

import datetime as dt
import shutil

import dagster as dg
import polars as pl
import pytest

from factory_assets.cli import main
from factory_assets.examples.nycflights import lay_out_landing
from factory_assets.lib.lake import Lake
from factory_assets.lib.lake_snapshots import current_snapshot
from factory_assets.lib.registry import Registry, registered_snapshots
from tests.conftest import LINE, own_stores, run_assets

MODEL = ["flights_model", "flights_evaluation", "flights_package"]
# validation 2013-01-06 … 01-08; the outcomes of 01-08 land with 01-09, after version 1 trained
TRAIN = {"train_start": "2013-01-01", "train_end": "2013-01-05", "val_days": 3, "max_epochs": 1}
# the holdout overlaps validation: this test is about which rows, not about judging the model
HOLDOUT = {"holdout_start": "2013-01-06", "holdout_end": "2013-01-07", "importance_rows": 100,
           "min_segment_rows": 50}  # fmt: skip
NEWER = dt.date(2013, 1, 9)


def _materialize(defs, keys: list[str], run_config: dict) -> dg.ExecuteInProcessResult:  # noqa: ANN001
    job = defs.resolve_implicit_global_asset_job_def().get_subset(
        asset_selection={dg.AssetKey(k) for k in keys}
    )
    ops = {k: v for k, v in run_config["ops"].items() if k in keys}
    return job.execute_in_process(run_config={"ops": ops}, raise_on_error=False)


def _metadata(result: dg.ExecuteInProcessResult, asset: str) -> dict:
    event = next(
        e
        for e in result.get_asset_materialization_events()
        if e.asset_key.to_user_string() == asset
    )
    return {k: v.value for k, v in event.materialization.metadata.items()}


def _config(**training: object) -> dict:
    package = {**HOLDOUT, "floors": {"auc": 0.0, "brier": 1.0}}
    window = {k: HOLDOUT[k] for k in ("holdout_start", "holdout_end")}  # judged before training
    return {
        "ops": {
            "flights_model": {"config": {**TRAIN, **window, **training}},
            "flights_evaluation": {"config": HOLDOUT},
            "flights_package": {"config": package},
        }
    }


@pytest.fixture(scope="module")
def travelled(built, defs, landing_root, tmp_path_factory):  # noqa: ANN001, ANN201
    """Version 1 registered, then day NEWER landed and ingested through the line."""
    root = tmp_path_factory.mktemp("time_travel")
    data = root / "data"
    shutil.copytree(landing_root, data)
    with pytest.MonkeyPatch.context() as mp:
        uri = own_stores(mp, root, built[0], data)
        lake = Lake.parse(root / "warehouse.sqlite")
        first = _materialize(defs, MODEL, _config())
        assert first.success
        lay_out_landing(data / "landing", NEWER, NEWER)
        newer = run_assets(defs, LINE, first=NEWER, last=NEWER)
        assert newer.success
        yield lake, Registry(uri), first, root, defs


def test_the_version_records_its_lake_snapshots(travelled) -> None:  # noqa: ANN001
    lake, registry, first, _, _ = travelled
    version = registry.client.get_model_version("flights", "1")
    trained = int(version.tags["lake_snapshot"])
    evaluated = int(version.tags["lake_snapshot_evaluation"])
    assert trained == _metadata(first, "flights_model")["lake_snapshot"]
    assert evaluated == _metadata(first, "flights_evaluation")["lake_snapshot_evaluation"]
    assert trained <= evaluated
    run = registry.client.get_run(version.run_id)
    assert run.data.tags["lake_snapshot"] == str(trained)
    assert version.tags["val_end"] == "2013-01-08"
    assert (version.tags["holdout_start"], version.tags["holdout_end"]) == (
        "2013-01-06",
        "2013-01-07",
    )
    assert (
        f"- Lake snapshot (training rows): {trained}\n"
        in _metadata(first, "flights_package")["model_card"]
    )
    assert {trained, evaluated} <= registered_snapshots(registry)
    with lake.connect(read_only=True) as conn:
        assert current_snapshot(conn) > evaluated  # the newer day committed snapshots since


def test_training_set_exports_the_recorded_rows_with_the_same_hash(travelled, capsys) -> None:  # noqa: ANN001
    _, registry, first, root, _ = travelled
    data_version = registry.client.get_model_version("flights", "1").tags["data_version"]
    out = root / "exports" / "training.parquet"
    assert main(["training-set", "flights", "1", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert f"content hash {data_version} matches the version's data_version" in printed
    rows = pl.read_parquet(out)
    assert rows["flight_date"].max() == dt.date(2013, 1, 7)  # 01-08 had no labels yet
    assert rows["is_late"].null_count() == 0
    train_rows = _metadata(first, "flights_model")["train_rows"]
    assert rows.filter(pl.col("flight_date") <= dt.date(2013, 1, 5)).height == train_rows
    every = root / "exports" / "all.parquet"
    assert main(["training-set", "flights", "1", "--split", "all", "--out", str(every)]) == 0
    splits = pl.read_parquet(every).group_by("_split").len()
    counts = dict(zip(splits["_split"], splits["len"], strict=True))
    assert counts["train"] == train_rows
    assert counts["train"] + counts["val"] == rows.height
    assert counts["holdout"] > 0


def test_a_retrain_from_the_recorded_snapshot_has_the_same_content_hash(travelled) -> None:  # noqa: ANN001
    _, registry, _, _, defs = travelled
    version = registry.client.get_model_version("flights", "1")
    snapshot = int(version.tags["lake_snapshot"])
    again = _materialize(defs, ["flights_model"], _config(lake_snapshot=snapshot))
    assert again.success
    replayed = _metadata(again, "flights_model")
    assert replayed["data_version"] == version.tags["data_version"]
    assert replayed["lake_snapshot"] == snapshot
    newest = _materialize(defs, ["flights_model"], _config())
    assert newest.success
    today = _metadata(newest, "flights_model")
    assert today["lake_snapshot"] > snapshot
    assert today["data_version"] != version.tags["data_version"]  # 01-08's labels landed
