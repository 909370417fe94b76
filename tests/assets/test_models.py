"""Train → evaluate → package → gate → score, on real files, a real dbt build and a real MLflow."""

import datetime as dt

import dagster as dg
import pytest

from factory_assets.cli import main
from factory_assets.lib import lake
from factory_assets.lib.features.flights import CATEGORICAL, NUMERIC
from factory_assets.lib.lake import copy_lake
from factory_assets.lib.registry import CHALLENGER, CHAMPION, Registry

IMPORTANCE_NAMES = set(CATEGORICAL + NUMERIC)

MODEL = ["flights_model", "flights_evaluation", "flights_package"]
HOLDOUT = {
    "holdout_start": "2013-01-07",
    "holdout_end": "2013-01-07",
    "importance_rows": 400,
    "min_segment_rows": 50,
}
DAY = dt.date(2013, 1, 8)


def _config(shuffle: bool = False, architecture: str | None = None, **gate: float) -> dict:
    train = {
        "train_start": "2013-01-01",
        "train_end": "2013-01-04",
        "val_days": 2,
        "max_epochs": 2,
        "shuffle_labels": shuffle,
    }
    if architecture is not None:  # else the spec's
        train["architecture"] = architecture
    return {
        "ops": {
            "flights_model": {"config": train},
            "flights_evaluation": {"config": HOLDOUT},
            "flights_package": {"config": {**HOLDOUT, **gate}},
        }
    }


def _materialize(defs, keys: list[str], run_config: dict | None = None, partition=None):  # noqa: ANN001, ANN202
    job = defs.resolve_implicit_global_asset_job_def().get_subset(
        asset_selection={dg.AssetKey(k) for k in keys}
    )
    return job.execute_in_process(
        run_config=run_config or {}, partition_key=partition, raise_on_error=False
    )


def _metadata(result, asset: str = "flights_package") -> dict:  # noqa: ANN001
    event = next(
        e
        for e in result.get_asset_materialization_events()
        if e.asset_key.to_user_string() == asset
    )
    return {k: v.value for k, v in event.materialization.metadata.items()}


@pytest.fixture(scope="module")
def line(built, defs, tmp_path_factory):  # noqa: ANN001, ANN201
    """A copy of the built warehouse, a fresh MLflow store, and a first champion (v1)."""
    root = tmp_path_factory.mktemp("models")
    copy_lake(built[0], root / "warehouse.sqlite")
    uri = f"sqlite:///{root / 'mlflow.db'}"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FACTORY_WAREHOUSE", str(root / "warehouse.sqlite"))
        mp.setenv("FACTORY_MLFLOW_TRACKING_URI", uri)
        mp.setenv("FACTORY_MLFLOW_ARTIFACTS", (root / "artifacts").as_uri())
        config = _config(architecture="auto", floors={"auc": 0.5, "brier": 0.25})
        first = _materialize(defs, MODEL, config)
        yield root / "warehouse.sqlite", Registry(uri), first


def test_the_first_model_passing_the_floors_becomes_champion(line) -> None:  # noqa: ANN001
    _, registry, first = line
    assert first.success
    metadata = _metadata(first)
    assert metadata["promoted"] is True and metadata["model_version"] == "1"
    assert metadata["onnx_parity_max_abs_diff"] <= 1e-5
    assert "# Model card: flights" in metadata["model_card"]
    assert "the probability that `is_late` is true" in metadata["model_card"]  # from the spec
    champion = registry.version("flights", CHAMPION)
    assert str(champion.version) == "1"
    for tag in ("data_version", "code_version", "holdout_auc", "holdout_brier"):
        assert champion.tags[tag], tag
    package = registry.download(champion)
    assert sorted(p.name for p in package.iterdir()) == [
        "model.onnx",
        "model_card.md",
        "preprocessor.json",
    ]


def test_evaluation_names_metrics_segments_and_importance(line) -> None:  # noqa: ANN001
    event = next(
        e
        for e in line[2].get_asset_materialization_events()
        if e.asset_key.to_user_string() == "flights_evaluation"
    )
    metadata = event.materialization.metadata
    assert 0.0 <= metadata["holdout_auc"].value <= 1.0
    assert 0.0 <= metadata["holdout_brier"].value <= 1.0
    for table in ("calibration", "by_carrier", "by_origin", "importance"):
        assert metadata[table].value.startswith("|"), table
    rows = metadata["importance"].value.splitlines()[2:]
    assert len(rows) == 15  # the top 15 of the 29 features
    assert all(row.split("|")[1].strip() in IMPORTANCE_NAMES for row in rows)
    assert metadata["leaks"].value == "(none)"  # no flights input alone predicts lateness
    assert metadata["leakage"].value.startswith("| segment | input | AUC alone")


def test_batch_scoring_writes_one_prediction_per_flight_of_the_day(line, defs) -> None:  # noqa: ANN001
    warehouse, _, _ = line
    result = _materialize(defs, ["flight_predictions"], partition=DAY.isoformat())
    assert result.success
    with lake.connect(warehouse, read_only=True) as conn:
        flights = conn.execute(
            "select count(*) from fct_flights where flight_date = ?", [DAY]
        ).fetchall()[0][0]
        rows = conn.execute(
            "select count(*), count(distinct flight_id), min(probability), "
            "max(probability), any_value(model_version) from flight_predictions "
            "where flight_date = ?",
            [DAY],
        ).fetchall()[0]
    assert rows[0] == rows[1] == flights > 700
    assert 0.0 <= rows[2] <= rows[3] <= 1.0
    assert rows[4] == "1"


def test_a_model_of_shuffled_labels_is_never_promoted(line, defs) -> None:  # noqa: ANN001
    _, registry, _ = line
    result = _materialize(defs, MODEL, _config(shuffle=True))
    metadata = _metadata(result)
    assert metadata["promoted"] is False
    assert (
        "below the floor" in metadata["gate_reason"] or "does not beat" in metadata["gate_reason"]
    )
    assert str(registry.version("flights", CHAMPION).version) == "1"
    loser = registry.version("flights", CHALLENGER)
    assert str(loser.version) == metadata["model_version"]
    assert loser.tags["gate_reason"] == metadata["gate_reason"]


def test_an_input_that_alone_predicts_the_label_keeps_the_model_from_champion(line, defs) -> None:  # noqa: ANN001
    _, registry, _ = line
    config = _config(floors={"auc": 0.5, "brier": 0.25}, margin=-1.0)  # it would win otherwise
    # any signal leaks (a copy: HOLDOUT is every test's)
    config["ops"]["flights_evaluation"]["config"] = {**HOLDOUT, "leakage_max_score": 0.5}
    result = _materialize(defs, MODEL, config)
    metadata = _metadata(result)
    assert metadata["promoted"] is False
    assert metadata["gate_reason"].startswith("input ")
    assert " alone scores AUC " in metadata["gate_reason"]
    assert metadata["gate_reason"].endswith("(leakage; allow it in evaluation.leakage.allow)")
    assert str(registry.version("flights", CHAMPION).version) == "1"
    assert "## Leakage guard" in metadata["model_card"]


def test_failed_parity_registers_nothing(line, defs) -> None:  # noqa: ANN001
    _, registry, _ = line
    before = len(registry.client.search_model_versions("name='flights'"))
    result = _materialize(
        defs, MODEL, _config(floors={"auc": 0.5, "brier": 0.25}, parity_atol=1e-12)
    )
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    assert failure.step_key == "flights_package"
    cause = failure.step_failure_data.error.cause
    assert cause.cls_name == "ParityError" and "max abs diff" in cause.message
    assert len(registry.client.search_model_versions("name='flights'")) == before


def test_promotion_then_rollback_records_who_and_why(line, defs, instance, capsys) -> None:  # noqa: ANN001
    _, registry, _ = line
    promoted = _metadata(
        _materialize(defs, MODEL, _config(floors={"auc": 0.5, "brier": 0.25}, margin=-1.0))
    )
    assert promoted["promoted"] is True
    new = promoted["model_version"]
    assert str(registry.version("flights", CHAMPION).version) == new
    assert registry.client.get_model_version("flights", new).tags["previous_champion"] == "1"

    # the CLI runs the rollback_champion job on the instance, as an operator would
    argv = ["rollback", "--model", "flights", "--reason", "late-rate spike"]
    assert main([*argv, "--who", "ops@example.com"]) == 0
    assert "flights champion: version 1" in capsys.readouterr().out
    assert str(registry.version("flights", CHAMPION).version) == "1"
    demoted = registry.client.get_model_version("flights", new).tags
    assert demoted["rolled_back_by"] == "ops@example.com"
    assert demoted["rolled_back_reason"] == "late-rate spike"
    runs = instance.get_runs(filters=dg.RunsFilter(job_name="rollback_champion"))
    assert [run.status for run in runs] == [dg.DagsterRunStatus.SUCCESS]
    with pytest.raises(LookupError):  # v1 was the first champion: nothing before it
        registry.rollback("flights", "ops@example.com", "again")


def test_auto_shows_its_candidates_and_the_baseline_beside_the_model(line) -> None:  # noqa: ANN001
    _, registry, first = line
    trained = _metadata(first, "flights_model")  # architecture: auto (the fixture's)
    rows = trained["candidates"].splitlines()[2:]
    assert sorted(r.split("|")[1].strip() for r in rows) == ["blend", "gbdt", "mlp"]
    chosen = next(r.split("|")[1].strip() for r in rows if "chosen" in r)
    assert trained["architecture"] == chosen
    assert 0.0 <= trained["baseline_val_auroc"] <= 1.0
    evaluated = _metadata(first, "flights_evaluation")
    assert 0.0 <= evaluated["baseline_holdout_auc"] <= 1.0
    card = _metadata(first)["model_card"]
    assert "| metric | model | baseline (gradient-boosted) |" in card
    run = registry.client.get_run(trained["mlflow_run_id"])
    assert run.data.params["architecture"] == chosen
    assert run.data.metrics["baseline/holdout/auc"] == pytest.approx(
        evaluated["baseline_holdout_auc"]
    )


@pytest.mark.parametrize("architecture", ["gbdt", "blend"])
def test_a_tree_or_blend_model_is_packaged_registered_and_scores_the_day(  # noqa: ANN001
    line, defs, architecture: str
) -> None:
    warehouse, registry, _ = line
    # wins over the champion
    config = _config(architecture=architecture, floors={"auc": 0.5, "brier": 0.25}, margin=-1.0)
    config["ops"]["flights_package"]["config"]["beat_baseline"] = False  # no stand-in: it serves
    result = _materialize(defs, MODEL, config)
    assert result.success
    assert _metadata(result, "flights_model")["architecture"] == architecture
    packaged = _metadata(result)
    assert packaged["promoted"] is True, packaged["gate_reason"]
    assert packaged["onnx_parity_max_abs_diff"] <= 1e-5
    champion = registry.version("flights", CHAMPION)
    assert str(champion.version) == packaged["model_version"]
    assert champion.tags["architecture"] == architecture
    scored = _materialize(defs, ["flight_predictions"], partition=DAY.isoformat())
    assert scored.success
    with lake.connect(warehouse, read_only=True) as conn:
        rows = conn.execute(
            "select count(*), min(probability), max(probability), any_value(model_version) "
            "from flight_predictions where flight_date = ?",
            [DAY],
        ).fetchall()[0]
    assert rows[0] > 700 and 0.0 <= rows[1] < rows[2] <= 1.0
    assert rows[3] == packaged["model_version"]
