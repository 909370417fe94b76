"""Asset check records and their targets, dagster's cron rule, component YAML positions."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import dagster as dg

# Raised as is by a component load (any other error is wrapped in a message that only lists the
# component tree): spec errors subclass it, so imported here at load, not in a function.
from dagster.components.core.component_tree import (
    ComponentTreeException as ComponentTreeException,
)

CHECK_PAGE = 100  # check records read per storage query


@dataclass(frozen=True)
class CheckRecord:
    """One execution of an asset check: planned (``passed`` None) or evaluated."""

    id: int  # storage order: a row is added when the check is planned, then updated
    run_id: str
    partition: str | None
    passed: bool | None
    evaluation: dg.AssetCheckEvaluation | None


def check_records(
    instance: dg.DagsterInstance,
    key: dg.AssetCheckKey,
    *,
    after: int = 0,
    newest: int | None = None,
    passed: bool | None = None,
) -> list[CheckRecord]:
    """The executions of ``key`` stored after id ``after``, newest first, page by page.

    ``newest`` keeps only that many; ``passed`` only the evaluations with that verdict.
    """
    from dagster._core.storage.asset_check_execution_record import (
        AssetCheckExecutionRecordStatus as Status,
    )

    status = None if passed is None else {Status.SUCCEEDED if passed else Status.FAILED}
    verdicts = {Status.SUCCEEDED: True, Status.FAILED: False}
    records: list[CheckRecord] = []
    before = None
    while newest is None or len(records) < newest:
        page = min(CHECK_PAGE, newest - len(records)) if newest else CHECK_PAGE
        rows = instance.event_log_storage.get_asset_check_execution_history(
            key, limit=page, cursor=before, status=status
        )
        for row in rows:
            if row.id <= after:
                return records
            evaluation = row.event.asset_check_evaluation if row.event else None
            verdict = verdicts.get(row.status)
            records.append(CheckRecord(row.id, row.run_id, row.partition, verdict, evaluation))
        if len(rows) < page:
            break
        before = rows[-1].id
    return records


def check_target(record: dg.EventLogRecord) -> object:
    """What ``dg.AssetCheckEvaluation(target_materialization_data=...)`` takes for ``record``."""
    from dagster._core.definitions.asset_checks.asset_check_evaluation import (
        AssetCheckEvaluationTargetMaterializationData,
    )

    return AssetCheckEvaluationTargetMaterializationData(
        storage_id=record.storage_id,
        run_id=record.event_log_entry.run_id,
        timestamp=record.timestamp,
    )


def is_valid_cron_string(text: str) -> bool:
    """Whether dagster's schedules accept ``text`` as a cron string."""
    from dagster._utils.schedules import is_valid_cron_string as valid

    return valid(text)


def source_line(tree: object, path: Sequence[str | int]) -> object:
    """Where the YAML value at ``path`` (or its closest parent) is: dagster-shared's position."""
    return tree.lookup_closest_and_path(list(path), None)[0]
