"""A model's online snapshot by declaration: the newest row per entity key of its feature table.

``build_lookup`` keeps, of the feature table's last ``days`` days (every row of a table without
dates), the newest row per entity key; the service finds a request's row by its keys
(``LookupOnline``, lib/online/lookup_online.py) and overrides the inputs sent with the request.
The training range of each numeric request input rides in the manifest, to check requests.
"""

import datetime as dt
from dataclasses import dataclass, field

import polars as pl

from factory_assets.lib.online.contract import Contract

ROWS = "rows"


@dataclass
class LookupManifest:
    """What a model's snapshot holds: its day, the served window, the request inputs' ranges."""

    as_of: str  # the newest day of the feature table ("" for a table without dates)
    first_day: str  # the window of dates its rows (and a request's dates) lie in
    last_day: str
    ranges: dict[str, list[float]] = field(default_factory=dict)  # training [min, max]
    rows: dict[str, int] = field(default_factory=dict)
    created_at: str = ""


def build_lookup(
    table: pl.DataFrame, contract: Contract, ranges: dict[str, list[float]]
) -> tuple[LookupManifest, dict[str, pl.DataFrame]]:
    """The snapshot of ``table`` (the feature table's recent rows) for ``contract``.

    Args:
        table: the feature table's rows of the snapshot's window.
        contract: the model's contract (keys, inputs, date column).
        ranges: each numeric request input's [min, max] over the training rows.

    Raises:
        ValueError: the table is empty, or lacks an entity key or an input.
    """
    if table.height == 0:
        raise ValueError(f"{contract.features} is empty: nothing to take an online snapshot of")
    extra = [contract.segment_column] if contract.segment_column else []
    # every input, the sent ones too: their types type the request schema
    inputs = [*contract.categorical, *contract.numeric]
    wanted = dict.fromkeys([*contract.entity, contract.key, *extra, *inputs])
    if contract.date:
        wanted[contract.date] = None
    missing = [c for c in wanted if c not in table.columns]
    if missing:
        raise ValueError(
            f"{contract.features} has no column {missing}: online.entity and the inputs of "
            f"{contract.name} must be columns of it"
        )
    rows = table.select(list(wanted))
    first = last = as_of = ""
    if contract.date:
        rows = rows.sort(contract.date)
        days = rows[contract.date].cast(pl.Date)
        first, last = days.min().isoformat(), days.max().isoformat()
        as_of = last
    rows = rows.unique(contract.entity, keep="last", maintain_order=True)
    manifest = LookupManifest(as_of, first, last, ranges, {ROWS: rows.height})
    return manifest, {ROWS: rows}


def window_sql(contract: Contract) -> str:
    """SQL of the rows a snapshot takes: the last ``days`` days before ``$end``, or all.

    ``$end`` is the end of the run's periods (exclusive); a table without dates has no window.
    """
    if not contract.date:
        return f"select * from {contract.features}"  # noqa: S608 (identifiers checked by spec)
    date, table = f"cast({contract.date} as date)", contract.features
    newest = f"(select max({date}) from {table} where {date} < $end)"  # noqa: S608
    return (
        f"select * from {table} where {date} < $end and {date} >= {newest} - {int(contract.days)}"  # noqa: S608, E501
    )


def ranges_sql(contract: Contract, columns: list[str], window: tuple[str, str] | None) -> str:
    """SQL of the min and max of ``columns`` over the training rows (``window``: dates)."""
    parts = ", ".join(f"min({c}), max({c})" for c in columns)
    where = ""
    if window is not None and contract.date:
        where = f" where cast({contract.date} as date) between '{window[0]}' and '{window[1]}'"
    return f"select {parts} from {contract.features}{where}"  # noqa: S608


def parse_day(value: str) -> dt.date | None:
    """An ISO day, or None for ""."""
    return dt.date.fromisoformat(value) if value else None
