"""The model station refuses windows that cannot judge a model before it trains anything."""

from pathlib import Path

import dagster as dg
import pytest

from factory_assets.lib.training.judging import ThinDataError
from tests.assets.test_model_specs import WINDOWS, _spec
from tests.conftest import own_stores


def _model_defs(name: str, min_rows: int) -> dg.Definitions:
    return _spec(name, evaluation={**WINDOWS["evaluation"], "min_rows": min_rows})[1]


@pytest.fixture(scope="module")
def project(built, landing_root, tmp_path_factory):  # noqa: ANN001, ANN201
    """A copy of the built warehouse and fresh MLflow and results stores."""
    root = tmp_path_factory.mktemp("thin")
    with pytest.MonkeyPatch.context() as mp:
        own_stores(mp, root, built[0], landing_root)
        from factory_assets.definitions import defs as load

        yield load(), root


def _failure(defs: dg.Definitions, name: str, run_config: dict | None = None) -> str:
    """The ThinDataError message of the model station, run with its evaluation."""
    job = defs.resolve_implicit_global_asset_job_def().get_subset(
        asset_selection={dg.AssetKey(f"{name}_{station}") for station in ("model", "evaluation")}
    )
    result = job.execute_in_process(run_config=run_config or {}, raise_on_error=False)
    assert not result.success
    (event,) = [e for e in result.all_events if e.is_step_failure]
    error = event.step_failure_data.error
    while error.cause is not None and error.cls_name != ThinDataError.__name__:
        error = error.cause
    assert error.cls_name == ThinDataError.__name__, error.message
    return error.message


def _runs(root: Path, name: str) -> int:
    import mlflow

    client = mlflow.MlflowClient(f"sqlite:///{root / 'mlflow.db'}")
    experiment = client.get_experiment_by_name(name)
    return 0 if experiment is None else len(client.search_runs([experiment.experiment_id]))


def test_too_few_rows_fail_naming_both_windows_before_training(project) -> None:  # noqa: ANN001
    base, root = project
    defs = dg.Definitions.merge(base, _model_defs("thin_rows", min_rows=100_000))
    message = _failure(defs, "thin_rows")
    assert "validation 2013-01-05..2013-01-06: label is_late has " in message
    assert "holdout 2013-01-07..2013-01-07: label is_late has " in message
    assert "labelled rows (fewest 100000)" in message
    assert _runs(root, "thin_rows") == 0  # no MLflow run: nothing was trained


def test_the_holdout_checked_is_the_one_the_run_evaluates_on(project) -> None:  # noqa: ANN001
    base, root = project
    defs = dg.Definitions.merge(base, _model_defs("empty_holdout", min_rows=30))
    later = {"holdout_start": "2013-03-01", "holdout_end": "2013-03-02"}  # no rows landed yet
    config = {"ops": {"empty_holdout_evaluation": {"config": later}}}
    message = _failure(defs, "empty_holdout", config)
    expected = "holdout 2013-03-01..2013-03-02: label is_late has 0 labelled rows (fewest 30)"
    assert f"ThinDataError: {expected}" in message
    assert "validation" not in message
    assert _runs(root, "empty_holdout") == 0
