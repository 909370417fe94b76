"""The rules of a model spec against the world outside it: the warehouse and the sources.

The warehouse's tables and columns, and the datasets of the source specs. Each raises ``rule``
at the first break, naming the field; ``ModelSpec.line`` reports it as every spec error reads
(lib/specs/errors.py).
"""

from factory_assets.lib.catalog import upstream_tables
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
