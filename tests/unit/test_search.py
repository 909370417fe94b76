"""Hyper-parameter search: parsing the space, Optuna trials on a quadratic, failures, the table."""

import math
import re

import polars as pl
import pytest

from factory_assets.lib.training.search import SearchSpace, run_search

ALLOWED = {"lr", "dropout", "hidden", "max_epochs", "batch_size", "weight_decay"}
SPACE = {
    "lr": {"low": 0.0005, "high": 0.01, "log": True},
    "dropout": {"low": 0.0, "high": 0.3},
    "max_epochs": {"low": 2, "high": 6, "int": True},
    "hidden": {"choices": [[32], [64, 32]]},
}


def quadratic(params: dict, number: int) -> float:
    # peaks at dropout 0.1, lr 0.003, 4 epochs, the wider net
    return (
        -((params["dropout"] - 0.1) ** 2)
        - (params["lr"] - 0.003) ** 2
        - 0.01 * (params["max_epochs"] - 4) ** 2
        + 0.05 * len(params["hidden"])
    )


def _search(seed: int = 7, trials: int = 3, objective=quadratic, **kwargs):
    return run_search(SearchSpace.parse(SPACE, allowed=ALLOWED), trials, objective, seed, **kwargs)


def test_three_trials_return_the_best_of_the_three() -> None:
    calls = []

    def objective(params: dict, number: int) -> float:
        calls.append((number, params))
        return quadratic(params, number)

    result = _search(objective=objective)
    table = result.table
    assert table.columns == [
        "trial", "state", "value", "lr", "dropout", "max_epochs", "hidden", "duration_s", "error"
    ]  # fmt: skip
    assert table["trial"].to_list() == [0, 1, 2] == [n for n, _ in calls]
    assert table["state"].to_list() == ["COMPLETE"] * 3
    values = [quadratic(p, n) for n, p in calls]
    assert table["value"].to_list() == pytest.approx(values)
    assert result.best_value == pytest.approx(max(values))
    assert result.best_number == values.index(max(values))
    assert result.best_params == calls[result.best_number][1]


def test_sampled_values_respect_the_space() -> None:
    result = _search(trials=6)
    assert result.table["lr"].is_between(0.0005, 0.01).all()
    assert result.table["dropout"].is_between(0.0, 0.3).all()
    assert result.table["max_epochs"].dtype == pl.Int64
    assert result.table["max_epochs"].is_between(2, 6).all()


def test_minimize_picks_the_lowest_value() -> None:
    result = _search(direction="minimize")
    assert result.best_value == pytest.approx(result.table["value"].min())


def test_a_seed_gives_the_same_trials() -> None:
    first, again, other = _search(seed=11), _search(seed=11), _search(seed=12)
    same = pl.exclude("duration_s")
    assert first.table.select(same).equals(again.table.select(same))
    assert (first.best_params, first.best_number) == (again.best_params, again.best_number)
    assert first.table["lr"].to_list() != other.table["lr"].to_list()


def test_failed_trials_are_recorded_and_the_search_goes_on() -> None:
    def flaky(params: dict, number: int) -> float:
        if number == 0:
            raise RuntimeError("CUDA out of memory")
        return math.nan if number == 1 else quadratic(params, number)

    result = _search(objective=flaky, trials=4)
    table = result.table
    assert table["state"].to_list() == ["FAIL", "FAIL", "COMPLETE", "COMPLETE"]
    assert table["value"].null_count() == 2
    assert table["error"][0] == "RuntimeError: CUDA out of memory"
    assert "nan" in table["error"][1]
    assert table["lr"].null_count() == 0  # a failed trial still shows what it tried
    assert result.best_number in (2, 3)
    assert result.best_value == pytest.approx(table["value"].max())


def test_every_trial_failing_is_an_error() -> None:
    def broken(params: dict, number: int) -> float:
        raise ValueError("no rows in the training window")

    with pytest.raises(RuntimeError, match="all 2 search trials failed.*no rows in the training"):
        _search(objective=broken, trials=2)


def test_list_choices_round_trip() -> None:
    seen = []

    def objective(params: dict, number: int) -> float:
        seen.append(params["hidden"])
        params["hidden"].append(0)  # the caller's copy: the space's own choices stay intact
        return quadratic({**params, "hidden": seen[-1][:-1]}, number)

    result = _search(objective=objective, trials=10)
    assert {tuple(h[:-1]) for h in seen} == {(32,), (64, 32)}
    assert result.best_params["hidden"] in ([32], [64, 32])
    assert isinstance(result.best_params["hidden"], list)
    assert set(result.table["hidden"].to_list()) == {"32", "64,32"}


def test_scalar_choices_keep_their_type() -> None:
    space = SearchSpace.parse({"batch_size": {"choices": [256, 1024]}})
    result = run_search(space, 3, lambda p, n: -p["batch_size"], seed=1, direction="maximize")
    assert result.table["batch_size"].dtype == pl.Int64
    assert result.best_params["batch_size"] in (256, 1024)


def test_to_markdown_marks_the_best_trial() -> None:
    result = _search()
    lines = result.to_markdown().splitlines()
    assert (
        lines[0]
        == "| trial | state | value | lr | dropout | max_epochs | hidden | duration_s | error |"
    )
    assert len(lines) == 2 + 3
    assert lines[2 + result.best_number].startswith(f"| **{result.best_number}** |")
    assert sum("**" in line for line in lines) == 1


def test_the_example_space_parses() -> None:
    space = SearchSpace.parse(SPACE, allowed=ALLOWED)
    assert space.names == ["lr", "dropout", "max_epochs", "hidden"]
    lr, _, epochs, hidden = space.params
    assert (lr.low, lr.high, lr.log, lr.is_int) == (0.0005, 0.01, True, False)
    assert (epochs.low, epochs.high, epochs.is_int) == (2, 6, True)
    assert hidden.choices == ([32], [64, 32])


@pytest.mark.parametrize(
    ("space", "message"),
    [
        ({"lr": {"low": 0.001, "hgh": 0.01}}, "'lr': unknown field 'hgh'; allowed: choices, low"),
        ({"lr": {"low": 0.01, "high": 0.001}}, "'lr': field 'low' (0.01) must be less than"),
        ({"lr": {"low": 0.01, "high": 0.01}}, "'lr': field 'low' (0.01) must be less than"),
        ({"lr": {"low": 0.0, "high": 0.01, "log": True}}, "'lr': field 'log' needs low > 0"),
        ({"lr": {"low": 0.001}}, "'lr': field 'high' is missing"),
        ({"lr": {"low": "small", "high": 0.01}}, "'lr': field 'low' must be a finite number"),
        ({"lr": {"low": 0.001, "high": 0.01, "log": "yes"}}, "'lr': field 'log' must be true"),
        ({"lr": 0.001}, "'lr': expected a mapping with low/high or choices"),
        ({"max_epochs": {"low": 2.5, "high": 6, "int": True}}, "'max_epochs': field 'low' must be"),
        ({"hidden": {"choices": []}}, "'hidden': field 'choices' must be a non-empty list"),
        ({"hidden": {"choices": [[32], [32]]}}, "'hidden': field 'choices' lists [32] twice"),
        ({"hidden": {"choices": [{"a": 1}]}}, "'hidden': field 'choices' items must be numbers"),
        ({"hidden": {"choices": [[32]], "low": 1}}, "'hidden': field 'low' cannot be combined"),
        (
            {"momentum": {"low": 0.1, "high": 0.9}},
            "'momentum': not a tunable parameter; allowed: b",
        ),
        ({"value": {"low": 0.1, "high": 0.9}}, "'value': not a usable parameter name"),
        ({}, "search space must be a non-empty mapping"),
    ],
)
def test_bad_spaces_name_the_parameter_and_field(space: dict, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        SearchSpace.parse(space, allowed=ALLOWED | {"value"})


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"trials": 0}, "trials must be"), ({"direction": "up"}, "direction must be one of")],
)
def test_bad_budget_or_direction(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        _search(**kwargs)
