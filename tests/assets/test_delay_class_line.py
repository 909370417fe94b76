"""delay_class: a multiclass model over the flights from YAML and SQL only, end to end.

ml_delay_class_features (dbt, built on ml_cancellation_features) classes each landed arrival;
its spec trains delay_class_model (three classes), judges it on the holdout, gates it on log
loss, packages and registers it; delay_class_predictions serves the class, its probability and
every class's; the performance check judges them once the labels land, a day later.

The dbt test runs as is; the end-to-end one needs the task-aware training, evaluation and
packaging (multiclass loss, metrics, gate and ONNX class probabilities).
"""

from pathlib import Path

import dagster as dg
import pytest

from factory_assets.lib import lake
from factory_assets.lib.registry import CHAMPION, Registry
from tests.conftest import own_stores, run_assets

CLASSES = ["on_time", "late", "very_late"]
TRAIN = {"train_start": "2013-01-01", "train_end": "2013-01-04", "val_days": 2, "max_epochs": 1,
         "hidden": [8]}  # fmt: skip
HOLDOUT = {"holdout_start": "2013-01-07", "holdout_end": "2013-01-07", "importance_rows": 200,
           "min_segment_rows": 20}  # fmt: skip
GATE = {"floors": {"log_loss": 100.0}, "margin": 0.0}  # the first champion is wanted here
SERVED, LANDED = "2013-01-07", "2013-01-08"  # labels of a day land the day after


@pytest.fixture(scope="module")
def stores(built, landing_root, tmp_path_factory):  # noqa: ANN001, ANN201
    """A copy of the built warehouse, fresh MLflow, results and report stores."""
    root = tmp_path_factory.mktemp("delay_class")
    with pytest.MonkeyPatch.context() as mp:
        uri = own_stores(mp, root, built[0], landing_root)
        from factory_assets.definitions import defs as load

        project = load()  # resources read the environment when definitions load
        features = run_assets(project, ["ml_cancellation_features", "ml_delay_class_features"])
        yield project, root, Registry(uri), features


def _rows(root: Path, sql: str) -> list[tuple]:
    with lake.connect(root / "warehouse.sqlite", read_only=True) as conn:
        return conn.execute(sql).fetchall()


def test_the_view_classes_each_landed_arrival_and_nothing_else(stores) -> None:  # noqa: ANN001
    _, root, _, features = stores
    assert features.success
    checks = features.get_asset_check_evaluations()
    assert checks and all(c.passed for c in checks), [c.check_name for c in checks if not c.passed]
    ((wrong, unlabelled_arrivals, labelled_others, classes),) = _rows(
        root,
        """
        select
            count(*) filter (where f.delay_class is distinct from case
                when t.arrival_delay_min <= 15 then 'on_time'
                when t.arrival_delay_min <= 60 then 'late'
                when t.arrival_delay_min > 60 then 'very_late' end
                and t.has_outcome and not t.is_cancelled),
            count(*) filter (where t.arrival_delay_min is not null and f.delay_class is null),
            count(*) filter (where (t.is_cancelled or not t.has_outcome) and f.delay_class
                is not null),
            list(distinct f.delay_class order by f.delay_class) filter (
                where f.delay_class is not null)
        from ml_delay_class_features f join fct_flights t using (flight_id)
        """,
    )
    assert (wrong, unlabelled_arrivals, labelled_others) == (0, 0, 0)
    assert sorted(classes) == sorted(CLASSES)
    ((unlabelled_newest,),) = _rows(
        root,
        f"select count(delay_class) from ml_delay_class_features where flight_date = '{LANDED}'",
    )
    assert unlabelled_newest == 0  # the newest day's outcomes have not landed


def _job(defs: dg.Definitions, keys: list[str]) -> dg.JobDefinition:
    return defs.resolve_implicit_global_asset_job_def().get_subset(
        asset_selection={dg.AssetKey(k) for k in keys}
    )


@pytest.mark.slow
def test_delay_class_trains_gates_packages_scores_and_monitors(stores) -> None:  # noqa: ANN001
    defs, root, registry, _ = stores
    config = {
        "ops": {
            "delay_class_model": {"config": TRAIN},
            "delay_class_evaluation": {"config": HOLDOUT},
            "delay_class_package": {"config": {**HOLDOUT, **GATE}},
        }
    }
    chain = ["delay_class_model", "delay_class_evaluation", "delay_class_package"]
    trained = _job(defs, chain).execute_in_process(run_config=config)
    assert trained.success
    (package,) = [
        e.materialization.metadata
        for e in trained.get_asset_materialization_events()
        if e.asset_key.path == ["delay_class_package"]
    ]
    assert package["promoted"].value is True
    champion = registry.version("delay_class", CHAMPION)
    assert "holdout_log_loss" in champion.tags and "holdout_auc" not in champion.tags

    served = _job(defs, ["delay_class_predictions"]).execute_in_process(partition_key=SERVED)
    assert served.success
    ((rows, flights, unknown, bad_sums, mismatched),) = _rows(
        root,
        f"""
        select count(*), (select count(*) from ml_delay_class_features
                          where flight_date = '{SERVED}'),
            count(*) filter (where prediction not in ('on_time', 'late', 'very_late')),
            count(*) filter (where abs(list_sum(probabilities) - 1) > 1e-4
                             or len(probabilities) != 3),
            count(*) filter (where abs(list_max(probabilities) - probability) > 1e-6)
        from delay_class_predictions
        """,
    )
    assert rows == flights > 0 and (unknown, bad_sums, mismatched) == (0, 0, 0)

    # the landed day is served too: its drift compares its served classes with the reference
    assert _job(defs, ["delay_class_predictions"]).execute_in_process(partition_key=LANDED).success
    monitor = ["delay_class_prediction_performance", "delay_class_drift_report"]
    floors = {"floors": {"log_loss": 100.0, "accuracy": 0.0}, "min_rows": 50, "window": 1}
    judged = _job(defs, monitor).execute_in_process(
        partition_key=LANDED,
        run_config={"ops": {"delay_class_prediction_performance": {"config": floors}}},
        raise_on_error=False,
    )
    checks = {(e.asset_key.path[-1], e.check_name): e for e in judged.get_asset_check_evaluations()}
    performance = checks[("delay_class_prediction_performance", "performance_above_floor")]
    assert performance.passed and performance.metadata["day"].value == SERVED
    assert performance.metadata["evaluated"].value
    ((log_loss, accuracy, recall_late, n),) = _rows(
        root,
        f"select log_loss, accuracy, recall_late, rows from delay_class_performance "
        f"where day = '{SERVED}'",
    )
    assert 0 < log_loss < 100 and 0 <= accuracy <= 1 and 0 <= recall_late <= 1 and n > 50
    # the served class drifts as a category: Jensen-Shannon, not a distance between numbers
    prediction = _rows(
        root, "select method from delay_class_drift where column_name = 'prediction'"
    )
    assert prediction == [("jensenshannon",)]
