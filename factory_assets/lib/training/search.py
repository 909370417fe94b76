"""Hyper-parameter search: a model spec's search space and trial budget, run by Optuna's TPE.

The caller's objective trains one model (and logs its MLflow child run); this module samples,
records every trial (a failing one as FAIL) and picks the best. Optuna is imported lazily.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any

import polars as pl

RANGE_FIELDS = ("low", "high", "log", "int")
FIELDS = ("choices", *RANGE_FIELDS)
DIRECTIONS = ("maximize", "minimize")
TABLE_COLUMNS = ("trial", "state", "value", "duration_s", "error")  # besides one per parameter
Scalar = None | bool | int | float | str


@dataclass(frozen=True)
class Param:
    """One searched parameter: a numeric range (``low``..``high``) or a list of ``choices``."""

    name: str
    low: float | int | None = None
    high: float | int | None = None
    log: bool = False
    is_int: bool = False
    choices: tuple[Any, ...] | None = None

    def suggest(self, trial: Any) -> Any:
        """The value of this parameter for an Optuna trial."""
        if self.choices is not None:
            # categorical distributions take scalars only: sample an index, hand back the item
            return self.decode(trial.suggest_categorical(self.name, list(range(len(self.choices)))))
        if self.is_int:
            return trial.suggest_int(self.name, self.low, self.high, log=self.log)
        return trial.suggest_float(self.name, self.low, self.high, log=self.log)

    @property
    def labelled(self) -> bool:
        """Whether the trial table shows this parameter as text (list or mixed-type choices)."""
        if self.choices is None:
            return False
        return (
            any(isinstance(c, list) for c in self.choices) or len(set(map(type, self.choices))) > 1
        )

    def decode(self, raw: Any) -> Any:
        """The parameter's value from what Optuna stored (an index for choices)."""
        return raw if self.choices is None else _copy(self.choices[raw])

    @classmethod
    def parse(cls, name: str, spec: Any) -> Param:
        """One parameter from its YAML mapping; ValueError names the field and what is allowed."""
        where = f"search space '{name}'"
        if not isinstance(spec, dict):
            raise ValueError(f"{where}: expected a mapping with low/high or choices, got {spec!r}")
        for field in spec:
            if field not in FIELDS:
                raise ValueError(f"{where}: unknown field {field!r}; allowed: {', '.join(FIELDS)}")
        if "choices" in spec:
            return cls(name, choices=_parse_choices(where, spec))
        for field in ("log", "int"):
            if not isinstance(spec.get(field, False), bool):
                raise ValueError(
                    f"{where}: field '{field}' must be true or false, got {spec[field]!r}"
                )
        is_int, log = spec.get("int", False), spec.get("log", False)
        low, high = (_parse_bound(where, spec, field, is_int) for field in ("low", "high"))
        if low >= high:
            raise ValueError(
                f"{where}: field 'low' ({low}) must be less than field 'high' ({high})"
            )
        if log and low <= 0:
            raise ValueError(f"{where}: field 'log' needs low > 0, got low={low}")
        return cls(name, low=low, high=high, log=log, is_int=is_int)


def _parse_bound(where: str, spec: dict, field: str, is_int: bool) -> float | int:
    if field not in spec:
        raise ValueError(f"{where}: field '{field}' is missing; a range needs low and high")
    value = spec[field]
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{where}: field '{field}' must be a finite number, got {value!r}")
    if is_int:
        if not float(value).is_integer():
            raise ValueError(
                f"{where}: field '{field}' must be whole when int is true, got {value}"
            )
        return int(value)
    return float(value)


def _parse_choices(where: str, spec: dict) -> tuple[Any, ...]:
    mixed = [f for f in RANGE_FIELDS if f in spec]
    if mixed:
        raise ValueError(f"{where}: field '{mixed[0]}' cannot be combined with 'choices'")
    choices = spec["choices"]
    if not isinstance(choices, list) or not choices:
        raise ValueError(f"{where}: field 'choices' must be a non-empty list, got {choices!r}")
    for item in choices:
        items = item if isinstance(item, list) else [item]
        if not all(isinstance(i, Scalar) for i in items):
            raise ValueError(
                f"{where}: field 'choices' items must be numbers, strings, booleans or lists of "
                f"them, got {item!r}"
            )
        if choices.count(item) > 1:
            raise ValueError(f"{where}: field 'choices' lists {item!r} twice")
    return tuple(_copy(c) for c in choices)


def _copy(value: Any) -> Any:
    return list(value) if isinstance(value, list) else value


@dataclass(frozen=True)
class SearchSpace:
    """The parameters a model spec searches, in the order the spec gives them."""

    params: tuple[Param, ...]

    @classmethod
    def parse(cls, space: Any, allowed: Collection[str] | None = None) -> SearchSpace:
        """A search space from its YAML mapping, e.g. ``{"lr": {"low": 1e-4, "high": 1e-2}}``.

        Args:
            space: parameter name -> ``{low, high[, log][, int]}`` or ``{choices: [...]}``.
            allowed: the parameter names the caller can apply; None allows any.

        Raises:
            ValueError: naming the parameter, the field and what is allowed.
        """
        if not isinstance(space, dict) or not space:
            raise ValueError(
                f"search space must be a non-empty mapping of parameters, got {space!r}"
            )
        for name in space:
            if not isinstance(name, str) or name in TABLE_COLUMNS:
                raise ValueError(
                    f"search space {name!r}: not a usable parameter name; "
                    f"{', '.join(TABLE_COLUMNS)} are columns of the trial table"
                )
            if allowed is not None and name not in allowed:
                raise ValueError(
                    f"search space '{name}': not a tunable parameter; "
                    f"allowed: {', '.join(sorted(allowed))}"
                )
        return cls(tuple(Param.parse(name, spec) for name, spec in space.items()))

    @property
    def names(self) -> list[str]:
        """Parameter names, in spec order."""
        return [p.name for p in self.params]

    def suggest(self, trial: Any) -> dict[str, Any]:
        """One trial's parameters (list choices come back as lists)."""
        return {p.name: p.suggest(trial) for p in self.params}


@dataclass(frozen=True)
class SearchResult:
    """The best trial and the whole trial table (one row per trial, failed ones included)."""

    best_params: dict[str, Any]
    best_value: float
    best_number: int
    table: pl.DataFrame  # trial, state, value, one column per parameter, duration_s, error

    def to_markdown(self) -> str:
        """The trial table as Markdown (for Dagster metadata); the best trial's row in bold."""
        from factory_assets.lib.markdown import markdown_table

        rows = []
        for row in self.table.iter_rows(named=True):
            cells = [_cell(v) for v in row.values()]
            if row["trial"] == self.best_number:
                cells = [f"**{c}**" if c else c for c in cells]
            rows.append(cells)
        return markdown_table(self.table.columns, rows)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def run_search(
    space: SearchSpace | dict,
    trials: int,
    objective: Callable[[dict[str, Any], int], float],
    seed: int,
    direction: str = "maximize",
) -> SearchResult:
    """Run ``trials`` Optuna trials (TPE sampler seeded with ``seed``, in-memory study).

    Args:
        space: the search space (a mapping is parsed with ``SearchSpace.parse``).
        trials: the trial budget.
        objective: ``objective(params, trial_number)`` trains one model and returns its metric;
            an exception marks that trial FAIL and the search goes on.
        seed: the sampler's seed: the same seed and objective give the same trials.
        direction: ``maximize`` or ``minimize`` the metric.

    Raises:
        ValueError: for a bad budget or direction.
        RuntimeError: when every trial failed (the first error is in the message).
    """
    import optuna

    space = space if isinstance(space, SearchSpace) else SearchSpace.parse(space)
    if isinstance(trials, bool) or not isinstance(trials, int) or trials < 1:
        raise ValueError(f"trials must be a whole number of at least 1, got {trials!r}")
    if direction not in DIRECTIONS:
        raise ValueError(f"direction must be one of {', '.join(DIRECTIONS)}, got {direction!r}")

    def run_trial(trial: optuna.Trial) -> float:
        try:
            value = objective(space.suggest(trial), trial.number)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise TypeError(f"the objective returned {value!r}, not a number")
            if not math.isfinite(value):
                raise ValueError(f"the objective returned {value}")
            return float(value)
        except Exception as error:
            trial.set_user_attr("error", f"{type(error).__name__}: {error}")
            raise

    verbosity = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.ERROR)  # failures are in the table, not the log
    try:
        sampler = optuna.samplers.TPESampler(seed=seed)
        study = optuna.create_study(direction=direction, sampler=sampler)
        study.optimize(run_trial, n_trials=trials, catch=(Exception,))
    finally:
        optuna.logging.set_verbosity(verbosity)
    return _result(space, study)


def _result(space: SearchSpace, study: Any) -> SearchResult:
    import optuna

    done = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    if not done:
        errors = [t.user_attrs.get("error", "no value returned") for t in study.trials]
        raise RuntimeError(f"all {len(study.trials)} search trials failed; first: {errors[0]}")
    best = study.best_trial
    return SearchResult(
        best_params={p.name: p.decode(best.params[p.name]) for p in space.params},
        best_value=float(best.value),
        best_number=best.number,
        table=_table(space, study.trials),
    )


def _table(space: SearchSpace, trials: list) -> pl.DataFrame:
    columns: dict[str, list] = {
        "trial": [t.number for t in trials],
        "state": [t.state.name for t in trials],
        "value": [None if t.value is None else float(t.value) for t in trials],
    }
    for p in space.params:
        values = [p.decode(t.params[p.name]) if p.name in t.params else None for t in trials]
        columns[p.name] = [_label(v) for v in values] if p.labelled else values
    columns["duration_s"] = [
        None if t.duration is None else round(t.duration.total_seconds(), 3) for t in trials
    ]
    columns["error"] = [t.user_attrs.get("error") for t in trials]
    return pl.DataFrame(
        columns,
        schema_overrides={
            "trial": pl.Int64,
            "value": pl.Float64,
            "duration_s": pl.Float64,
            "error": pl.String,
        },
    )


def _label(value: Any) -> str | None:
    # the format TrainConfig.params logs to MLflow, so the table and the runs read alike
    if value is None:
        return None
    return ",".join(map(str, value)) if isinstance(value, list) else str(value)
