"""Great Expectations suites as blocking Dagster asset checks on warehouse tables."""

import dagster as dg
from dagster_duckdb import DuckDBResource

from factory_assets.execution import warehouse_step
from factory_assets.lib.quality import Expectation, run_suite


def _failures_table(failed: list[dict]) -> dg.MetadataValue:
    lines = ["| expectation | column | unexpected count | observed |", "|---|---|---|---|"]
    for f in failed:
        observed = f["observed_value"] if f["unexpected_count"] is None else ""
        lines.append(
            f"| {f['expectation']} | {f['column']} | {f['unexpected_count']} | {observed} |"
        )
    return dg.MetadataValue.md("\n".join(lines) if failed else "all expectations met")


def build_suite_check(
    table: str, query: str, expectations: list[Expectation], description: str
) -> dg.AssetChecksDefinition:
    """``<table>_meets_suite``: a blocking check that runs the GX suite on ``query``'s rows.

    A failure (severity ERROR) stops every asset downstream of ``table`` in the same run.
    """

    @dg.asset_check(
        asset=table,
        name=f"{table}_meets_suite",
        description=description,
        blocking=True,
        **warehouse_step(),
    )
    def _check(duckdb: DuckDBResource) -> dg.AssetCheckResult:
        with duckdb.get_connection() as conn:
            frame = conn.sql(query).df()
        outcome = run_suite(frame, f"{table}_suite", expectations)
        return dg.AssetCheckResult(
            passed=outcome.success,
            severity=dg.AssetCheckSeverity.ERROR,
            metadata={
                "failed_expectations": _failures_table(outcome.failed),
                "failed": [f"{f['expectation']}({f['column']})" for f in outcome.failed],
                "unexpected_counts": {
                    f"{f['expectation']}({f['column']})": f["unexpected_count"]
                    for f in outcome.failed
                },
                "evaluated_expectations": outcome.evaluated,
                "rows_checked": len(frame),
            },
        )

    return _check
