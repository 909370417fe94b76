"""``architecture: auto`` on problems whose answer is known, with a real MLflow store.

A label set by a sharp interaction of a category and a threshold on a number: trees learn it at
once, a tiny net after one epoch does not, so auto keeps the trees (which are then the baseline
too). A smooth label with trees cut down to one stump: auto keeps the net, and the baseline is
fitted beside it; with the blend among the candidates (the default), the mean of that net and
stump beats both and is served. Each trained candidate is a child run; the choice is on the run
and in the result.
"""

import datetime as dt

import numpy as np
import polars as pl
import pytest

from factory_assets.components.model_line.configs import Training
from factory_assets.lib.model_line import ModelLine
from factory_assets.lib.tasks import Task
from factory_assets.lib.training import segment
from factory_assets.lib.training.dataset import ModelColumns
from factory_assets.lib.training.segment import TrainedNets, load_run_model, train_segment
from factory_assets.resources import TrackingStore

COLUMNS = ModelColumns("id", "day", "y", ("zone",), ("load", "noise"))
START = dt.date(2021, 5, 1)
WINDOWS = {"train_start": "2021-05-01", "train_end": "2021-05-24", "val_days": 6}
NET = {"batch_size": 256, "lr": 1e-4, "weight_decay": 0.0, "dropout": 0.0, "seed": 3}


def _frame(kind: str, rows: int = 4000) -> pl.DataFrame:
    rng = np.random.default_rng(7)
    zone = rng.choice(list("abcdefgh"), rows)
    load = rng.uniform(-1, 1, rows)
    if kind == "interaction":  # flips with the zone at a sharp threshold
        odd = np.isin(zone, ["b", "e", "g"])
        y = np.where(odd, load > 0.4, load < -0.2)
    else:  # a smooth, linear signal
        y = load + rng.normal(scale=0.3, size=rows) > 0
    return pl.DataFrame(
        {
            "id": np.arange(rows),
            "day": [START + dt.timedelta(days=int(d)) for d in rng.integers(0, 30, rows)],
            "zone": zone,
            "load": load,
            "noise": rng.normal(size=rows),
            "y": y,
        }
    )


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> TrackingStore:
    """One SQLite store for the module: creating one takes seconds."""
    root = tmp_path_factory.mktemp("auto")
    uri = f"sqlite:///{root / 'mlflow.db'}"
    return TrackingStore(tracking_uri=uri, artifact_location=(root / "art").as_uri())


@pytest.fixture
def tracking(store: TrackingStore, monkeypatch: pytest.MonkeyPatch) -> TrackingStore:
    monkeypatch.setattr(segment, "TRAINED", TrainedNets())  # this test's models only
    return store


def _train(frame: pl.DataFrame, tracking: TrackingStore, **knobs: object) -> dict:
    config = Training(**WINDOWS, **{**NET, **knobs}, architecture="auto")
    line = ModelLine("zones", "features", COLUMNS, task=Task())
    cfg = segment.train_config(config)
    return train_segment("dagster-run-1", line, config, cfg, frame, None, tracking, "c0", None)


def _children(tracking: TrackingStore, run_id: str) -> dict[str, object]:
    client = tracking.registry().client
    run = client.get_run(run_id)
    found = client.search_runs([run.info.experiment_id], f"tags.mlflow.parentRunId = '{run_id}'")
    return {r.data.tags["factory/candidate"]: r for r in found}


def test_auto_keeps_the_trees_where_a_sharp_interaction_decides(tracking) -> None:  # noqa: ANN001
    result = _train(_frame("interaction"), tracking, hidden=[4], max_epochs=1)
    children = _children(tracking, result["run_id"])
    trees, net = (children[c].data.metrics["val/auroc"] for c in ("gbdt", "mlp"))
    assert trees > 0.95 and trees > net + 0.1  # the known answer, by a wide margin
    assert result["architecture"] == "gbdt"
    assert result["metrics"]["val/auroc"] == pytest.approx(trees)
    table = result["candidates"].splitlines()
    assert table[0].startswith("| candidate | val AUC")
    assert [r.split("|")[1].strip() for r in table[2:]] == ["mlp", "gbdt", "blend"]
    assert table[3].rstrip(" |").endswith("chosen") and "chosen" not in table[2] + table[4]
    assert result["baseline"]["reused"] is True  # trees of the default recipe: one fit
    assert result["baseline"]["metrics"]["val/auroc"] == pytest.approx(trees)
    run = tracking.registry().client.get_run(result["run_id"])
    assert run.data.params["architecture"] == "gbdt"
    assert run.data.params["candidates"] == "mlp,gbdt,blend"
    assert run.data.metrics["candidate/mlp/val/auroc"] == pytest.approx(net)
    # the poor net, calibrated, is nearly constant: the blend ranks as the trees at best, and
    # of equal scores the first listed (gbdt) is kept
    assert run.data.metrics["candidate/blend/val/auroc"] <= trees
    assert run.data.metrics["baseline/val/auroc"] == pytest.approx(trees)
    assert children["gbdt"].data.params["gbdt_num_leaves"] == "31"  # its recipe, on its run
    segment.TRAINED.__init__()  # as another process would: read back from MLflow
    model, pre = load_run_model(tracking, result["run_id"])
    assert model.architecture == "gbdt" and pre.calibration["scale"] != 1.0


STUMP = {"gbdt_max_trees": 1, "gbdt_num_leaves": 2}


def test_auto_keeps_the_net_where_the_trees_are_a_stump(tracking) -> None:  # noqa: ANN001
    result = _train(_frame("smooth"), tracking, hidden=[16], max_epochs=4, lr=1e-2, **STUMP,
                    candidates=["mlp", "gbdt"])  # fmt: skip
    children = _children(tracking, result["run_id"])
    trees, net = (children[c].data.metrics["val/auroc"] for c in ("gbdt", "mlp"))
    assert net > trees + 0.02
    assert result["architecture"] == "mlp" and result["config"]["architecture"] == "mlp"
    assert result["baseline"]["reused"] is False  # the stump is not the baseline's recipe
    assert result["baseline"]["metrics"]["val/auroc"] > trees  # the default recipe, fitted
    model, _ = load_run_model(tracking, result["run_id"])
    baseline, _ = load_run_model(tracking, result["run_id"], "baseline")
    assert getattr(model, "architecture", "mlp") == "mlp" and baseline.architecture == "gbdt"


def test_auto_serves_the_blend_where_the_mean_beats_both(tracking) -> None:  # noqa: ANN001
    result = _train(_frame("smooth"), tracking, hidden=[16], max_epochs=4, lr=1e-2, **STUMP)
    children = _children(tracking, result["run_id"])
    assert set(children) == {"mlp", "gbdt"}  # the blend trains nothing: no run of its own
    trees, net = (children[c].data.metrics["val/auroc"] for c in ("gbdt", "mlp"))
    blended = result["metrics"]["val/auroc"]
    assert result["architecture"] == "blend" and blended > max(trees, net)
    run = tracking.registry().client.get_run(result["run_id"])
    assert run.data.params["architecture"] == "blend" and "gbdt_num_leaves" in run.data.params
    segment.TRAINED.__init__()  # read back from MLflow: both parts, each with its calibration
    model, _ = load_run_model(tracking, result["run_id"])
    assert [(n, m.__class__.__name__) for n, m, _ in model.parts] == [
        ("mlp", "TabularNet"), ("gbdt", "GbdtModel")]  # fmt: skip


@pytest.mark.parametrize(("architecture", "candidates"), [("xgboost", []), ("auto", ["rf"])])
def test_an_unknown_architecture_fails_before_a_run_starts(
    tracking: TrackingStore, architecture: str, candidates: list
) -> None:
    config = Training(**WINDOWS, **NET, hidden=[4], max_epochs=1, architecture=architecture,
                      candidates=candidates)  # fmt: skip
    line = ModelLine("unknowns", "features", COLUMNS, task=Task())
    cfg = segment.train_config(config)
    with pytest.raises(ValueError, match="is unknown; allowed: mlp, gbdt, blend, auto"):
        train_segment("run-2", line, config, cfg, _frame("smooth"), None, tracking, "c0", None)
    assert tracking.registry().client.get_experiment_by_name("unknowns") is None
