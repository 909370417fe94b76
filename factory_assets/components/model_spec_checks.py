"""The rules of a model spec against the world outside it: the warehouse and the sources.

The warehouse's tables and columns, and the datasets of the source specs. Each raises ``rule``
at the first break, naming the field; ``ModelSpec.line`` reports it as every spec error reads
(lib/specs/errors.py).
"""

import re

from factory_assets.lib.catalog import ColumnFacts, upstream_tables
from factory_assets.lib.features import PYTHON_TABLES
from factory_assets.lib.sources import Dataset
from factory_assets.lib.specs.errors import listing, rule


def _column(column: str, table: str, tables: dict, at: tuple) -> None:
    if column not in tables[table]:
        raise rule(f"{column!r} is not a column of {table}", listing(sorted(tables[table])), at=at)


def check_tables(spec, tables: dict[str, tuple[str, ...]]) -> None:  # noqa: ANN001 (a ModelSpec)
    """Raise the first rule ``spec`` breaks against the warehouse's ``tables`` (and columns)."""
    d = spec.data
    for field in ("features", "labels_from"):
        table = getattr(d, field)
        if table is not None and table not in tables:
            what = "table or asset" if field == "features" else "table"
            raise rule(f"no {what} {table!r}", listing(sorted(tables)), at=("data", field))
    for field in ("key", "date", *([] if d.labels_from else ["label"])):
        if getattr(d, field) is not None:
            _column(getattr(d, field), d.features, tables, ("data", field))
    if d.labels_from:
        for field in ("key", "label"):
            _column(getattr(d, field), d.labels_from, tables, ("data", field))
    for field in ("categorical", "numeric"):
        for i, column in enumerate(getattr(d, field)):
            _column(column, d.features, tables, ("data", field, i))
    if spec.segments is not None:
        _column(spec.segments.column, d.features, tables, ("segments", "column"))


NUMERIC_TYPE = re.compile(
    r"^(u?(tiny|small|big|huge)?int(eger)?\d*|double( precision)?|float\d*|real|"
    r"(decimal|numeric|number)(\(.*\))?)$"
)
BOOLEAN_TYPES = {"boolean", "bool"}
BINARY_VALUES = {"true", "false", "0", "1"}
DECLARE = {
    "binary": "data_type: boolean, or accepted_values of two values (true/false or 0/1)",
    "regression": "data_type: a number type (double, integer, decimal, ...)",
    "multiclass": "an accepted_values test listing exactly data.classes",
}


def _numbers(values: tuple) -> bool:
    return all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)


def _label_problem(task: str, column: str, facts: ColumnFacts) -> str | None:
    """Why ``column`` cannot be a ``task`` label by what its .yml declares (None: it can)."""
    kind, values = facts.data_type, facts.accepted
    shown = f"accepted values {listing(values)}" if values is not None else f"data_type {kind}"
    if task == "binary":
        two = values is not None and len(set(map(str, values))) == 2  # noqa: PLR2004
        if kind in BOOLEAN_TYPES or (two and {str(v).lower() for v in values} <= BINARY_VALUES):
            return None
        return f"{column} ({shown}) is no yes/no column, as task binary needs"
    if task == "regression":
        if values is not None and not _numbers(values):
            return f"{column} (accepted values {listing(values)}) is not numeric, as task " \
                "regression needs"  # fmt: skip
        if kind is None or not NUMERIC_TYPE.match(kind):
            return f"{column} ({shown}) is not declared numeric, as task regression needs"
        return None
    if values is None:
        return f"{column} declares no accepted_values, which task multiclass checks classes by"
    return None


def check_label(spec, facts: dict[str, dict[str, ColumnFacts]]) -> None:  # noqa: ANN001
    """Raise a rule unless the label column, as its dbt .yml declares it, fits ``spec.task``.

    binary: data_type boolean or two accepted values (true/false, 0/1); regression: a numeric
    data_type (and no accepted value that is not a number); multiclass: accepted values that
    are data.classes. A label in a Python feature table is read from ``data.labels_from``.
    """
    d, task = spec.data, spec.task
    table = d.labels_from or d.features
    column = f"{table}.{d.label}"
    if table in PYTHON_TABLES and table not in facts:
        raise rule(f"{table} is built in Python: its columns declare no type to check the "
                   f"{task} label by", "data.labels_from: a dbt model holding the label",
                   at=("data", "labels_from"))  # fmt: skip
    declared = facts.get(table, {}).get(d.label, ColumnFacts())
    if declared.data_type is None and declared.accepted is None:
        raise rule(f"{column} declares neither a data_type nor accepted_values in its .yml, so "
                   f"its fit to task {task} is unknown", f"declare {DECLARE[task]}",
                   at=("data", "label"))  # fmt: skip
    problem = _label_problem(task, column, declared)
    if problem is not None:
        raise rule(problem, f"a label column with {DECLARE[task]}, or another task",
                   at=("data", "label"))  # fmt: skip
    if task == "multiclass" and set(map(str, declared.accepted)) != set(d.classes):
        raise rule(f"{listing(d.classes)} are not the accepted values of {column}",
                   f"the same classes as those: {listing(declared.accepted)} (in any order)",
                   at=("data", "classes"))  # fmt: skip


def check_time_axis(spec, dataset: Dataset, tables: dict) -> None:  # noqa: ANN001
    """Raise a rule unless the model's time axis fits its dataset's.

    A model over a batched dataset has no data.date (it splits by key hash) and its feature
    table carries the batch column; a model over a periodic dataset has a data.date.
    """
    d, at = spec.data, ("data", "date")
    if d.date is None and not dataset.batched:
        raise rule(f"omitted, but {dataset.name} is periodic (a calendar)",
                   f"a date column of {d.features}, or a batched dataset", at=at)  # fmt: skip
    if d.date is not None and dataset.batched:
        raise rule(f"{dataset.name} is batched: it has no time axis",
                   "omit data.date (the model trains on its key-hash split)", at=at)  # fmt: skip
    if dataset.batched and spec.schedule is not None:
        sensor = f"{dataset.name}_batch_sensor"
        problem = (
            f"{dataset.name} is batched: each batch is scored when its sensor ({sensor}) finds it"
        )
        raise rule(problem, "unset", at=("schedule",))
    if dataset.batched:
        _column(d.batch_column, d.features, tables, ("data", "batch_column"))


def resolve_dataset(spec, known: dict[str, Dataset]) -> Dataset:  # noqa: ANN001 (a ModelSpec)
    """The dataset whose calendar (or batches) the model takes; a rule unless one fits."""
    from factory_assets.components.model_spec import MANIFEST

    periodic = {name: d for name, d in known.items() if d.partitioned}
    allowed = listing(sorted(periodic)) or "(none declared)"
    at = ("data", "dataset")
    if spec.data.dataset is not None:
        if spec.data.dataset not in periodic:
            raise rule(f"{spec.data.dataset!r} is no dataset with a calendar or batches",
                       allowed, at=at)  # fmt: skip
        return periodic[spec.data.dataset]
    raw = {t.removeprefix("raw_") for t in upstream_tables(MANIFEST, spec.data.features)}
    if spec.data.labels_from:
        raw |= {t.removeprefix("raw_") for t in upstream_tables(MANIFEST, spec.data.labels_from)}
    found = sorted(
        name for name, d in periodic.items() if any(s.name in raw for s in d.periodic + d.batched)
    )
    if len(found) != 1:
        features = spec.data.features
        problem = (
            f"{features} is built from the periodic (or batch) sources of {', '.join(found)}"
            if found
            else f"{features} is built from no periodic (or batch) source"
        )
        raise rule(f"{problem}, so its calendar is unclear", f"one of {allowed}", at=at)
    return periodic[found[0]]
