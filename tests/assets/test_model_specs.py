"""Model specs beyond the flights model: per-segment models with a fallback, an Optuna search."""

import datetime as dt
import json
from pathlib import Path

import dagster as dg
import pytest

from factory_assets.components.model_line.build import build_line
from factory_assets.components.model_spec import MANIFEST, ModelSpec
from factory_assets.lib import lake
from factory_assets.lib.catalog import warehouse_tables
from factory_assets.lib.lake import copy_lake
from factory_assets.lib.registry import CHAMPION, Registry
from tests.assets.test_models import MODEL, _config

DAY = dt.date(2013, 1, 8)
INPUTS = {
    "categorical": ["origin", "dest"],
    "numeric": ["sched_hour", "distance_mi", "temperature_f", "route_late_rate_28d"],
}
WINDOWS = {
    "training": {
        "train_start": "2013-01-01",
        "train_end": "2013-01-04",
        "val_days": 2,
        "max_epochs": 1,
        "hidden": [8],
    },
    "evaluation": {
        "holdout_start": "2013-01-07",
        "holdout_end": "2013-01-07",
        "importance_rows": 200,
        "min_segment_rows": 20,
    },
    # any model passes: these tests check the line's mechanics, not a 1-epoch net's quality
    "gate": {"floors": {"auc": 0.0, "brier": 1.0}, "margin": 0.0, "beat_baseline": False},
}


def _spec(name: str, **extra) -> tuple[ModelSpec, dg.Definitions]:  # noqa: ANN003
    attributes = {
        "name": name,
        "description": f"test model {name}",
        "data": {
            "features": "flight_features",
            "key": "flight_id",
            "date": "flight_date",
            "label": "is_late",
            "labels_from": "fct_flights",
            **INPUTS,
        },
        **WINDOWS,
        **extra,
    }
    spec = ModelSpec.model_validate(attributes)
    line = spec.line(Path(f"tests/{name}.yaml"), warehouse_tables(MANIFEST))
    return spec, build_line(spec, line)


def _job(defs: dg.Definitions, keys: list[str]) -> dg.JobDefinition:
    job = defs.resolve_implicit_global_asset_job_def()
    return job.get_subset(asset_selection={dg.AssetKey(k) for k in keys})


def _metadata(result, key: str) -> dict:  # noqa: ANN001
    event = next(
        e for e in result.get_asset_materialization_events() if e.asset_key.path[-1] == key
    )
    return {k: v.value for k, v in event.materialization.metadata.items()}


@pytest.fixture(scope="module")
def stores(built, defs, landing_root, tmp_path_factory):  # noqa: ANN001, ANN201
    """A copy of the built warehouse, fresh MLflow and results stores, a global flights champion."""
    root = tmp_path_factory.mktemp("specs")
    copy_lake(built[0], root / "warehouse.sqlite")
    uri = f"sqlite:///{root / 'mlflow.db'}"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FACTORY_WAREHOUSE", str(root / "warehouse.sqlite"))
        mp.setenv("FACTORY_MLFLOW_TRACKING_URI", uri)
        mp.setenv("FACTORY_MLFLOW_ARTIFACTS", (root / "artifacts").as_uri())
        mp.setenv("FACTORY_RESULTS_DIR", str(root / "results"))
        mp.setenv("FACTORY_DATA_DIR", str(landing_root))
        from factory_assets.definitions import defs as load

        project = load()  # resources read the environment when definitions load
        first = _job(project, MODEL).execute_in_process(
            run_config=_config(floors={"auc": 0.5, "brier": 0.25})
        )
        assert first.success
        yield project, root, Registry(uri)


def test_a_segmented_spec_trains_two_segments_and_falls_back_for_the_third(stores) -> None:  # noqa: ANN001
    project, root, registry = stores
    segments = {"column": "carrier", "values": ["UA", "B6", "HA"], "min_rows": 300,
                "fallback": "flights"}  # fmt: skip
    # the gated models serve (no refit on the holdout): four days of one carrier stay the reference
    training = {**WINDOWS["training"], "refit_on_all": False}
    _, model_defs = _spec("late_by_carrier", segments=segments, training=training)
    defs = dg.Definitions.merge(project, model_defs)
    chain = ["late_by_carrier_model", "late_by_carrier_evaluation", "late_by_carrier_package"]
    job = _job(defs, chain)
    tags = {
        "dagster/asset_partition_range_start": "UA",
        "dagster/asset_partition_range_end": "HA",
    }
    result = job.execute_in_process(tags=tags, raise_on_error=False)
    assert result.success
    model = _metadata(result, "late_by_carrier_model")
    assert model["trained_segments"] == 2 and model["fallback_segments"] == "HA"
    package = _metadata(result, "late_by_carrier_package")
    assert package["promoted"] == 2

    # each trained segment has its own registered model and champion; HA is marked fallback
    for carrier in ("UA", "B6"):
        version = registry.version(f"late_by_carrier-{carrier}", CHAMPION)
        assert version is not None and version.tags["segment"] == carrier
    ha = registry.client.get_registered_model("late_by_carrier-HA")
    assert ha.tags["fallback"] == "flights" and registry.version(ha.name, CHAMPION) is None

    # scoring: each row by its segment's champion, everything else by the global fallback
    scored = _job(defs, ["late_by_carrier_predictions"]).execute_in_process(
        partition_key=DAY.isoformat()
    )
    assert scored.success
    with lake.connect(root / "warehouse.sqlite", read_only=True) as conn:
        rows = conn.sql(
            "select f.carrier, p.model_name, bool_and(p.fallback) as fallback, count(*) as n "
            "from late_by_carrier_predictions p join flight_features f using (flight_id) "
            "group by all order by 1"
        ).fetchall()
    by_carrier = {carrier: (name, fallback) for carrier, name, fallback, _ in rows}
    assert by_carrier["UA"] == ("late_by_carrier-UA", False)
    assert by_carrier["B6"] == ("late_by_carrier-B6", False)
    assert by_carrier["HA"] == ("flights", True)
    assert by_carrier["AA"] == ("flights", True)  # not a segment of the spec at all

    # monitoring per served model: segments are judged on their own reference; four days of
    # one carrier are too few rows for Evidently's tests, which the report says per model
    drift = _job(defs, ["late_by_carrier_drift_report"]).execute_in_process(
        partition_key=DAY.isoformat(),
        run_config={
            "ops": {"late_by_carrier_drift_report": {"config": {"html_report": "never"}}}
        },  # fmt: skip
    )
    assert drift.success
    report = _metadata(drift, "late_by_carrier_drift_report")
    assert "1001" in report["not_evaluated_late_by_carrier-UA"]
    assert report["fallback_rows"] == sum(n for c, _, _, n in rows if c not in {"UA", "B6"})
    (check,) = drift.get_asset_check_evaluations()
    assert check.passed and check.metadata["evaluated"].value is False


def test_a_search_runs_its_trials_as_child_runs_and_keeps_the_best(stores) -> None:  # noqa: ANN001
    project, _, registry = stores
    search = {"trials": 3, "space": {"lr": {"low": 1e-4, "high": 1e-1, "log": True},
                                     "hidden": {"choices": [[4], [16, 8]]}}}  # fmt: skip
    _, model_defs = _spec("late_searched", search=search)
    defs = dg.Definitions.merge(project, model_defs)
    result = _job(defs, ["late_searched_model"]).execute_in_process()
    assert result.success
    metadata = _metadata(result, "late_searched_model")
    trials = metadata["trials"]
    assert trials.count("\n") >= 4  # header, rule, three trials
    parent = registry.client.get_run(metadata["mlflow_run_id"])
    children = registry.client.search_runs(
        [parent.info.experiment_id],
        f"tags.mlflow.parentRunId = '{parent.info.run_id}'",
    )
    assert len(children) == 3
    best = max(children, key=lambda run: run.data.metrics.get("val/auroc", -1))
    assert parent.data.params["lr"] == best.data.params["lr"]
    assert parent.data.params["hidden"] == best.data.params["hidden"]


def test_the_cancellations_model_is_a_dbt_view_and_a_spec(stores) -> None:  # noqa: ANN001
    project, root, registry = stores
    holdout = {k: v for k, v in WINDOWS["evaluation"].items()}
    run_config = {
        "ops": {
            "cancellations_model": {"config": {**WINDOWS["training"], "max_epochs": 2}},
            "cancellations_evaluation": {"config": holdout},
            "cancellations_package": {"config": {**holdout, "floors": {"auc": 0.0, "brier": 1.0}}},
        }
    }
    keys = ["ml_cancellation_features", "cancellations_model", "cancellations_evaluation",
            "cancellations_package"]  # fmt: skip
    result = _job(project, keys).execute_in_process(run_config=run_config)
    assert result.success
    package = _metadata(result, "cancellations_package")
    assert package["model_name"] == "cancellations" and package["promoted"] is True
    version = registry.version("cancellations", CHAMPION)
    # the served version is refitted through the holdout's end; the gate judged the model
    # trained to 2013-01-04
    assert version.tags["gated_train_end"] == "2013-01-04"
    assert version.tags["train_end"] == "2013-01-07" and version.tags["refit"]
    scored = _job(project, ["cancellations_predictions"]).execute_in_process(
        partition_key=DAY.isoformat()
    )
    assert scored.success
    with lake.connect(root / "warehouse.sqlite", read_only=True) as conn:
        ((rows, flights, low, high),) = conn.sql(
            "select count(*), count(distinct flight_id), min(probability), max(probability) "
            "from cancellations_predictions"
        ).fetchall()
        ((scheduled,),) = conn.sql(
            "select count(*) from ml_cancellation_features where flight_date = ?", params=[DAY]
        ).fetchall()
    assert rows == flights == scheduled > 0 and 0.0 <= low < high <= 1.0


def test_degenerate_segments_fall_back_without_failing_the_others(stores) -> None:  # noqa: ANN001
    """AVL trains on two flights but has none in the validation window; RSW's holdout day is
    all on time (no AUC, no importance). Both fall back; ATL trains, is judged and packaged."""
    project, root, registry = stores
    segments = {"column": "dest", "values": ["ATL", "AVL", "RSW"], "min_rows": 2,
                "fallback": "flights"}  # fmt: skip
    evaluation = {**WINDOWS["evaluation"], "importance_rows": 0}  # skipped, said on the card
    _, model_defs = _spec("late_by_dest", segments=segments, evaluation=evaluation)
    defs = dg.Definitions.merge(project, model_defs)
    chain = ["late_by_dest_model", "late_by_dest_evaluation", "late_by_dest_package"]
    tags = {
        "dagster/asset_partition_range_start": "ATL",
        "dagster/asset_partition_range_end": "RSW",
    }
    result = _job(defs, chain).execute_in_process(tags=tags, raise_on_error=False)
    assert result.success
    model = _metadata(result, "late_by_dest_model")
    assert model["trained_segments"] == 2 and model["fallback_segments"] == "AVL"
    package = _metadata(result, "late_by_dest_package")
    assert package["promoted"] == 1 and package["fallback_segments"] == "AVL, RSW"

    for dest, why in (("AVL", "no labelled rows in the validation window"), ("RSW", "one class")):
        marked = registry.client.get_registered_model(f"late_by_dest-{dest}")
        assert marked.tags["fallback"] == "flights" and why in marked.tags["fallback_reason"]
        assert not registry.client.search_model_versions(f"name='late_by_dest-{dest}'")
    judged = root / "results" / "late_by_dest_evaluation"
    assert "one class" in json.loads((judged / "RSW.json").read_text())["reason"]

    champion = registry.version("late_by_dest-ATL", CHAMPION)
    assert champion.tags["gate_reason"].startswith("first model")
    card = (registry.download(champion) / "model_card.md").read_text()
    assert "## Feature importance\n\n_Not computed: `importance_rows` is 0._" in card
