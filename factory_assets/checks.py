"""Great Expectations suites as blocking Dagster asset checks on warehouse tables.

A suite validates the days changed since its last passing evaluation, not the whole table each
run: an evaluation records ``validated_through``, the ``_loaded_at`` watermark of the source
table it validated (the checked table, or the table it is built from: ``watermark``), and the
next one reads it back from the instance and validates only the days with rows loaded after
it. Key uniqueness stays table-wide, counted in DuckDB over the whole table. A failed
evaluation records no new watermark, so its days are validated again. A watermark holds only
for the suite that wrote it: each evaluation records the suite's fingerprint (its query, key
and expectations), and a changed suite validates the whole table once. The check's config
(``SuiteScope``) can ask for the whole table.
"""

import datetime as dt
import hashlib
import json

import dagster as dg

from factory_assets.execution import warehouse_step
from factory_assets.lib.markdown import markdown_table
from factory_assets.lib.quality import (
    Expectation,
    SuiteOutcome,
    changed_since,
    run_suite,
    scoped_rows,
)
from factory_assets.private_api import check_records
from factory_assets.resources import Warehouse


class SuiteScope(dg.Config):
    """Which rows a suite check validates."""

    whole_table: bool = False  # every row, whatever passed before
    min_days: int = 28  # at least the newest days: aggregate expectations judge a month


def _failures_table(failed: list[dict]) -> dg.MetadataValue:
    if not failed:
        return dg.MetadataValue.md("all expectations met")
    rows = [
        (
            f["expectation"],
            f["column"],
            f["unexpected_count"],
            f["observed_value"] if f["unexpected_count"] is None else "",
        )
        for f in failed
    ]
    header = ["expectation", "column", "unexpected count", "observed"]
    return dg.MetadataValue.md(markdown_table(header, rows))


def suite_fingerprint(query: str, key: str, suite: list[Expectation]) -> str:
    """What a watermark was validated with: the rows' query, the key and the expectations."""
    text = json.dumps([query, key, suite], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _passed_through(
    instance: dg.DagsterInstance, key: dg.AssetCheckKey, fingerprint: str
) -> dt.datetime | None:
    """The watermark the newest passing evaluation of ``key`` validated through, if any.

    None when that evaluation ran another suite (``fingerprint`` differs, or is missing): the
    rows it passed were never judged by this one.
    """
    records = check_records(instance, key, newest=1, passed=True)
    evaluation = records[0].evaluation if records else None
    if evaluation is None:
        return None
    suite = evaluation.metadata.get("suite_fingerprint")
    through = evaluation.metadata.get("validated_through")
    if suite is None or suite.value != fingerprint or through is None or not through.value:
        return None
    return dt.datetime.fromisoformat(through.value)


def _built_before_source(instance: dg.DagsterInstance, table: str, source: str) -> bool:
    """Whether ``source`` was materialized after ``table``: its watermark is not ``table``'s."""
    if table == source:
        return False
    built, source = (
        instance.get_latest_materialization_event(dg.AssetKey(name)) for name in (table, source)
    )
    return built is not None and source is not None and source.timestamp > built.timestamp


def _metadata(
    outcome: SuiteOutcome, rows: int, scope: str, through: dt.datetime | None, fingerprint: str
) -> dict:
    return {
        "failed_expectations": _failures_table(outcome.failed),
        "failed": [f"{f['expectation']}({f['column']})" for f in outcome.failed],
        "unexpected_counts": {
            f"{f['expectation']}({f['column']})": f["unexpected_count"] for f in outcome.failed
        },
        "evaluated_expectations": outcome.evaluated,
        "rows_checked": rows,
        "scope": scope,
        "validated_through": dg.MetadataValue.text(through.isoformat() if through else ""),
        "suite_fingerprint": dg.MetadataValue.text(fingerprint),
    }


def build_suite_check(
    table: str,
    query: str,
    expectations: list[Expectation],
    description: str,
    *,
    key: str,
    date: str,
    watermark: tuple[str, str] | None = None,
) -> dg.AssetChecksDefinition:
    """``<table>_meets_suite``: a blocking check that runs the GX suite on ``query``'s rows.

    Only the days (``date`` column of the rows) changed since the last pass of the same suite
    (and the newest ``min_days``) are validated; ``key`` must be unique over the whole table.
    Which days changed is read from the ``_loaded_at`` of ``watermark`` (a table and its date
    column: the table the checked one is built from; default the checked table and ``date``).
    A failure (severity ERROR) stops every asset downstream of ``table`` in the same run.
    """
    source, source_date = watermark or (table, date)
    check_key = dg.AssetCheckKey(dg.AssetKey(table), f"{table}_meets_suite")
    copies = f"{key}_copies_in_table"
    suite = [*expectations, ("ExpectColumnValuesToBeInSet", {"column": copies, "value_set": [1]})]
    fingerprint = suite_fingerprint(query, key, suite)

    @dg.asset_check(
        asset=table,
        name=check_key.name,
        description=description,
        blocking=True,
        **warehouse_step(),
    )
    def _check(
        context: dg.AssetCheckExecutionContext, config: SuiteScope, duckdb: Warehouse
    ) -> dg.AssetCheckResult:
        instance = context.instance
        last = None if config.whole_table else _passed_through(instance, check_key, fingerprint)
        with duckdb.get_connection() as conn:
            since, now = changed_since(conn, source, last, config.min_days, source_date)
            frame = scoped_rows(conn, table, query, key, since, date)
        outcome = run_suite(frame, f"{table}_suite", suite)
        # A failure keeps the last pass's watermark; so does a table built before its source's
        # last build, since it may hold none of the rows loaded up to ``now``.
        advance = outcome.success and not _built_before_source(context.instance, table, source)
        through = now if advance else last
        scope = "whole table" if since is None else f"days from {since}"
        return dg.AssetCheckResult(
            passed=outcome.success,
            severity=dg.AssetCheckSeverity.ERROR,
            metadata=_metadata(outcome, len(frame), scope, through, fingerprint),
        )

    return _check
