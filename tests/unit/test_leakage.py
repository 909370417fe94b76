"""The leakage guard per task, and the gate refusing a leak unless the spec allows it."""

import numpy as np
import polars as pl
import pytest

from factory_assets.components.model_line.configs import Packaging
from factory_assets.lib.leakage import leak_reason, leakage
from factory_assets.lib.registration import gate_decision
from factory_assets.lib.tasks import Task

CLASSES = ("on_time", "late", "very_late")
TASKS = {
    "binary": Task(),
    "regression": Task("regression"),
    "multiclass": Task("multiclass", CLASSES),
}


def _rows(kind: str, n: int = 3000) -> pl.DataFrame:
    """An honest numeric ``x`` and categorical ``carrier``, a key-like ``tail``, and the label."""
    rng = np.random.default_rng(7)
    x = rng.normal(size=n)
    noisy = x + rng.normal(size=n)
    label = {
        "binary": pl.Series((noisy > 0).astype(np.int64)),
        "regression": pl.Series(np.exp(noisy) * 100),
        "multiclass": pl.Series(np.asarray(CLASSES)[np.digitize(noisy, [-0.5, 0.8])]),
    }[kind]
    return pl.DataFrame(
        {
            "x": x,
            "carrier": rng.choice(["AA", "UA", "B6"], n),
            "tail": [f"N{i}" for i in range(n)],
            "label": label,
        }
    )


def _guard(frame: pl.DataFrame, kind: str, numeric: list, allow: tuple = ()) -> dict:
    categorical = [c for c in frame.columns if c not in {"label", *numeric}]
    return leakage(frame, "label", TASKS[kind], categorical, numeric, 0.99, allow)


@pytest.mark.parametrize("kind", list(TASKS))
def test_honest_inputs_are_not_leaks(kind: str) -> None:
    found = _guard(_rows(kind), kind, ["x"])
    assert found["leaks"] == [] and found["allowed"] == []
    assert found["metric"] == {"binary": "auc", "regression": "r2", "multiclass": "accuracy"}[kind]
    assert list(found["scores"])[0] == "x" and found["scores"]["x"] < 0.9
    assert found["scores"]["tail"] < 0.6  # one value a row: it predicts nothing out of fold


@pytest.mark.parametrize("kind", list(TASKS))
@pytest.mark.parametrize("as_numeric", [True, False])
def test_a_copied_label_is_a_leak_unless_allowed(kind: str, as_numeric: bool) -> None:
    frame = _rows(kind)
    copied = frame["label"]
    if kind == "multiclass" and as_numeric:
        copied = copied.replace_strict({c: i for i, c in enumerate(CLASSES)})
    if kind == "regression" and not as_numeric:
        copied = (copied > copied.median()).cast(pl.String)  # a categorical cannot copy a price
        frame = frame.with_columns(pl.Series("label", (copied == "true").cast(pl.Float64) * 10))
    frame = frame.with_columns(copied.alias("arrival_delay"))
    numeric = ["x", "arrival_delay"] if as_numeric else ["x"]
    found = _guard(frame, kind, numeric)
    assert found["leaks"] == ["arrival_delay"] and found["scores"]["arrival_delay"] >= 0.99
    allowed = _guard(frame, kind, numeric, allow=("arrival_delay",))
    assert allowed["leaks"] == [] and allowed["allowed"] == ["arrival_delay"]


def test_a_partial_copy_with_nulls_is_scored_with_nulls_as_their_own_value() -> None:
    frame = _rows("binary")
    half = pl.when(pl.int_range(frame.height) % 2 == 0).then(pl.col("label"))
    found = _guard(frame.with_columns(half.alias("half")), "binary", ["x", "half"])
    assert found["leaks"] == [] and 0.7 < found["scores"]["half"] < 0.99


def _packaging(**values: object) -> Packaging:
    return Packaging(
        holdout_start="2024-03-01",
        holdout_end="2024-03-07",
        importance_rows=0,
        min_segment_rows=10,
        **values,
    )


def test_the_gate_refuses_a_leak_and_says_how_to_allow_it() -> None:
    frame = _rows("binary").with_columns(pl.col("label").alias("arrival_delay"))
    evaluation = {"leakage": _guard(frame, "binary", ["x", "arrival_delay"])}
    config = _packaging(metric="auc", floors={"auc": 0.6}, margin=0.002)
    decision = gate_decision({"auc": 0.99}, None, config, evaluation)
    assert not decision.promote
    assert decision.reason == (
        "input arrival_delay alone scores AUC 1.0000 on the training window "
        "(leakage; allow it in evaluation.leakage.allow)"
    )
    allowed = _packaging(
        metric="auc", floors={"auc": 0.6}, margin=0.002, leakage_allow=["arrival_delay"]
    )
    assert gate_decision({"auc": 0.99}, None, allowed, evaluation).promote
    assert gate_decision({"auc": 0.99}, None, config, {}).promote  # no guard run: no leak
    assert leak_reason(None) is None


@pytest.mark.parametrize(
    ("metric", "floors", "challenger", "champion", "promote", "reason"),
    [
        (
            "rmse",
            {"rmse": 10.0},
            {"rmse": 11.0},
            None,
            False,
            "holdout RMSE 11.0000 above the ceiling 10.0",
        ),
        ("rmse", {"rmse": 10.0}, {"rmse": 9.0}, None, True, "first model: RMSE 9.0000 pass bounds"),
        ("rmse", {}, {"rmse": 4.95}, {"rmse": 5.0}, False, "needs 4.9000"),
        (
            "rmse",
            {},
            {"rmse": 4.85},
            {"rmse": 5.0},
            True,
            "RMSE 4.8500 beats the champion's 5.0000",
        ),
        ("r2", {"r2": 0.0}, {"r2": -0.1}, None, False, "holdout R² -0.1000 below the floor 0.0"),
        ("r2", {"r2": 0.0}, {"r2": 0.62}, {"r2": 0.5}, True, "R² 0.6200 beats"),
        ("log_loss", {"log_loss": 1.0}, {"log_loss": 1.2}, None, False, "above the ceiling 1.0"),
        ("log_loss", {}, {"log_loss": 0.7}, {"log_loss": 0.75}, True, "log loss 0.7000 beats"),
        ("log_loss", {}, {"log_loss": 0.74}, {"log_loss": 0.75}, False, "does not beat"),
        ("macro_f1", {"macro_f1": 0.5}, {"macro_f1": 0.4}, None, False, "below the floor 0.5"),
    ],
)
def test_the_gate_judges_each_tasks_metric_by_its_direction(  # noqa: PLR0913
    metric: str, floors: dict, challenger: dict, champion: dict | None, promote: bool, reason: str
) -> None:
    config = _packaging(metric=metric, floors=floors, margin=0.1 if metric == "rmse" else 0.02)
    decision = gate_decision(challenger, champion, config, {"leakage": {"leaks": []}})
    assert decision.promote is promote and reason in decision.reason
