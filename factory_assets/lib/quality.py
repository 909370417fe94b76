"""Great Expectations 1.x suites run on in-memory frames (ephemeral context, no GX project).

Expectations are plain data, ``(ExpectationClassName, kwargs)``, so defining a suite costs no
import; great_expectations (about 3 s to import) is loaded only when a suite runs, and pandas
(0.3 s) only for type hints here: the definitions load without it.
``changed_since`` and ``scoped_rows`` pick the warehouse rows a suite validates.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

import duckdb

if TYPE_CHECKING:
    import pandas as pd

Expectation = tuple[str, dict]


@dataclass(frozen=True)
class SuiteOutcome:
    """What a suite run found: overall success, each failed expectation, GX statistics."""

    success: bool
    failed: list[dict]
    evaluated: int


def _describe(result) -> dict:  # noqa: ANN001 (a GX ExpectationValidationResult)
    config = result.expectation_config
    details = result.result or {}
    return {
        "expectation": config.type,
        "column": config.kwargs.get("column", ""),
        "unexpected_count": details.get("unexpected_count"),
        "unexpected_percent": details.get("unexpected_percent"),
        "observed_value": details.get("observed_value"),
        "exception": (result.exception_info or {}).get("exception_message"),
    }


def run_suite(
    frame: pd.DataFrame, suite_name: str, expectations: list[Expectation]
) -> SuiteOutcome:
    """Validate ``frame`` against the expectations with an ephemeral GX context."""
    import great_expectations as gx
    import great_expectations.expectations as gxe
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    batch_definition = (
        context.data_sources.add_pandas(f"{suite_name}_source")
        .add_dataframe_asset(suite_name)
        .add_batch_definition_whole_dataframe("all")
    )
    suite = context.suites.add(gx.ExpectationSuite(name=suite_name))
    for name, kwargs in expectations:
        suite.add_expectation(getattr(gxe, name)(**kwargs))
    validation = context.validation_definitions.add(
        gx.ValidationDefinition(name=suite_name, data=batch_definition, suite=suite)
    )
    result = validation.run(batch_parameters={"dataframe": frame})
    failed = [_describe(r) for r in result.results if not r.success]
    return SuiteOutcome(success=bool(result.success), failed=failed, evaluated=len(result.results))


def changed_since(
    conn: duckdb.DuckDBPyConnection,
    source: str,
    watermark: dt.datetime | None,
    min_days: int,
    date: str,
) -> tuple[dt.date | None, dt.datetime | None]:
    """The first day to validate of tables built from ``source``, and its watermark now.

    ``date`` is the column of ``source`` that holds a row's day.

    None (the whole table) with no watermark, with nothing loaded since it, or when the table's
    own watermark is older (it was rebuilt from less data). Otherwise the first day with rows
    loaded after ``watermark``, or the first of the newest ``min_days`` days if earlier: the
    aggregate expectations (a late share, a ``mostly``) then judge a month, not a day or two
    (a day's labels land the next day; the source's last day has no weather).
    """
    now, changed, newest = conn.execute(
        f"select max(_loaded_at), min({date}) filter (where _loaded_at > $1), "
        f"max({date}) from {source}",
        [watermark],
    ).fetchall()[0]
    if watermark is None or changed is None or now < watermark:
        return None, now
    return min(changed, newest - dt.timedelta(days=min_days - 1)), now


def scoped_rows(
    conn: duckdb.DuckDBPyConnection,
    table: str,
    query: str,
    key: str,
    since: dt.date | None,
    date: str,
) -> pd.DataFrame:
    """``query``'s rows from ``since`` on (all with None), with ``<key>_copies_in_table``.

    ``date`` is the column of ``query``'s rows that holds their day. The copies count the key
    over the whole ``table``, so an old key arriving again in a new day shows as 2 on the new
    row even when only new days are validated.
    """
    where = "" if since is None else f"where q.{date} >= $1"
    return conn.execute(
        f"select q.*, k.copies as {key}_copies_in_table from ({query}) as q "
        f"left join (select {key}, count(*) as copies from {table} group by {key}) as k "
        f"using ({key}) {where}",
        [] if since is None else [since],
    ).df()
