"""gate.beat_baseline: a challenger worse than the gradient-boosted baseline on the holdout loses.

Real trees on synthetic rows: the baseline (default recipe) against a stump and against a
model that beats it, judged on the same holdout rows; then each metric's direction and a tie.
"""

import datetime as dt

import numpy as np
import polars as pl
import pytest

from factory_assets.components.model_line.configs import Packaging
from factory_assets.lib.registration import gate_decision
from factory_assets.lib.tasks import Task
from factory_assets.lib.training.dataset import ModelColumns
from factory_assets.lib.training.gbdt import GbdtConfig, train_gbdt
from factory_assets.lib.training.models import predict_frame

COLUMNS = ModelColumns("id", "day", "y", ("kind",), ("x",))
START = dt.date(2022, 1, 1)
WINDOWS = ((START, START + dt.timedelta(days=19)), (START + dt.timedelta(days=20), START +
           dt.timedelta(days=24)))  # fmt: skip
HOLDOUT = (START + dt.timedelta(days=25), START + dt.timedelta(days=29))
NO_LEAK = {"leakage": {"leaks": []}}


def _packaging(**values: object) -> Packaging:
    return Packaging(holdout_start="2022-01-26", holdout_end="2022-01-30", importance_rows=0,
                     min_segment_rows=10, floors={}, margin=0.002, **values)  # fmt: skip


@pytest.fixture(scope="module")
def fitted() -> tuple[pl.DataFrame, dict]:
    """The holdout rows, and the baseline, a stump and a finer model fitted on the same rows."""
    rng = np.random.default_rng(5)
    rows = 4000
    kind, x = rng.choice(["p", "q", "r"], rows), rng.uniform(-2, 2, rows)
    signal = np.sin(3 * x) + (kind == "q") * 0.8 + rng.normal(scale=0.3, size=rows)
    frame = pl.DataFrame(
        {
            "id": np.arange(rows),
            "day": [START + dt.timedelta(days=int(d)) for d in rng.integers(0, 30, rows)],
            "kind": kind,
            "x": x,
            "y": signal > 0.3,
        }
    )
    holdout = frame.filter(pl.col("day").is_between(*HOLDOUT))
    task = Task()
    recipes = {
        "baseline": GbdtConfig(num_threads=1),
        "stump": GbdtConfig(max_trees=1, num_leaves=2, num_threads=1),
        "finer": GbdtConfig(learning_rate=0.1, num_leaves=15, num_threads=1),
    }
    trained = {n: train_gbdt(frame, *WINDOWS, r, columns=COLUMNS, task=task)
               for n, r in recipes.items()}  # fmt: skip
    return holdout, trained


@pytest.fixture(scope="module")
def judged(fitted) -> dict[str, dict]:  # noqa: ANN001
    """Holdout metrics of the baseline, a stump and a finer model of the same rows."""
    holdout, trained = fitted
    y, task = Task().encode(holdout["y"]), Task()
    return {
        name: task.metrics(y, predict_frame(f.model, f.preprocessor, holdout))
        for name, f in trained.items()
    }


def test_auto_sends_the_baseline_to_the_gate_when_its_choice_loses_to_it(
    fitted,
    judged,
    tmp_path,  # noqa: ANN001
) -> None:
    from factory_assets.lib.holdout import baseline_stand_in
    from factory_assets.lib.model_line import ModelLine
    from factory_assets.lib.training.models import save
    from factory_assets.resources import TrackingStore

    holdout, trained = fitted
    store = TrackingStore(tracking_uri=f"sqlite:///{tmp_path}/mlflow.db",
                          artifact_location=(tmp_path / "art").as_uri())  # fmt: skip
    client = store.registry().client
    run = client.create_run(client.create_experiment("m", (tmp_path / "art").as_uri()))
    for folder, name in (("training", "stump"), ("baseline", "baseline")):  # auto chose badly
        save(trained[name].model, trained[name].preprocessor, tmp_path / folder)
        client.log_artifacts(run.info.run_id, str(tmp_path / folder), folder)
    line = ModelLine(name="m", features="t", columns=COLUMNS)
    model = {"run_id": run.info.run_id, "architecture": "mlp", "candidates": "(table)",
             "baseline": {"reused": False}}  # fmt: skip
    result = {"metrics": judged["stump"], "baseline_metrics": judged["baseline"]}
    config = _packaging(metric="auc")
    stood = baseline_stand_in(model, result, holdout, line, config, [], store)
    assert stood["model_folder"] == "baseline" and stood["chosen_metrics"] == judged["stump"]
    assert stood["metrics"]["auc"] == pytest.approx(judged["baseline"]["auc"], abs=1e-9)
    assert stood["stand_in"].startswith("auto chose mlp on validation, but its holdout AUC")
    assert gate_decision(stood["metrics"], None, config, {**NO_LEAK, **stood}).promote
    # a better choice, a spec naming one architecture, or trees that are the baseline: as is
    better = {"metrics": judged["finer"], "baseline_metrics": judged["baseline"]}
    assert baseline_stand_in(model, better, holdout, line, config, [], store) is better
    named = {**model, "candidates": None}
    assert baseline_stand_in(named, result, holdout, line, config, [], store) is result
    trees = {**model, "architecture": "gbdt", "baseline": {"reused": True}}
    assert baseline_stand_in(trees, result, holdout, line, config, [], store) is result
    # auto's gbdt candidate reused as the baseline while the net was chosen: it stands in
    reused = {**model, "baseline": {"reused": True}}
    assert baseline_stand_in(reused, result, holdout, line, config, [], store)["stand_in"]


def test_a_challenger_that_loses_to_the_baseline_is_refused_with_both_figures(judged) -> None:  # noqa: ANN001
    stump, baseline = judged["stump"], judged["baseline"]
    assert stump["auc"] < baseline["auc"] - 0.05
    decision = gate_decision(stump, None, _packaging(metric="auc"),
                             {**NO_LEAK, "baseline_metrics": baseline})  # fmt: skip
    assert not decision.promote
    assert decision.reason == (
        f"holdout AUC {stump['auc']:.4f} is worse than the gradient-boosted baseline's "
        f"{baseline['auc']:.4f} on the same holdout (gate.beat_baseline)"
    )
    off = _packaging(metric="auc", beat_baseline=False)  # the spec turned it off
    assert gate_decision(stump, None, off, {**NO_LEAK, "baseline_metrics": baseline}).promote


def test_a_challenger_at_least_as_good_as_the_baseline_passes(judged) -> None:  # noqa: ANN001
    finer, baseline = judged["finer"], judged["baseline"]
    evaluation = {**NO_LEAK, "baseline_metrics": baseline}
    assert finer["auc"] > baseline["auc"]  # seeded, deterministic trees: the same every run
    assert gate_decision(finer, None, _packaging(metric="auc"), evaluation).promote
    assert gate_decision(baseline, None, _packaging(metric="auc"), evaluation).promote  # a tie
    # a run trained before baselines has none: nothing to beat
    assert gate_decision(judged["stump"], None, _packaging(metric="auc"), NO_LEAK).promote


@pytest.mark.parametrize(
    ("metric", "challenger", "baseline", "promote"),
    [
        ("rmse", 5.1, 5.0, False),  # an error: higher is worse
        ("rmse", 4.9, 5.0, True),
        ("log_loss", 0.71, 0.70, False),
        ("r2", 0.41, 0.40, True),
        ("brier", 0.2, 0.2, True),  # a tie passes
    ],
)
def test_the_baseline_rule_follows_the_metrics_direction(
    metric: str, challenger: float, baseline: float, promote: bool
) -> None:
    evaluation = {**NO_LEAK, "baseline_metrics": {metric: baseline}}
    decision = gate_decision({metric: challenger}, None, _packaging(metric=metric), evaluation)
    assert decision.promote is promote
    assert promote or "gradient-boosted baseline's" in decision.reason
