"""dagster-dbt's selection and event conversion, dbt's event dicts, dbt-duckdb's database."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import dagster as dg


def dbt_selection(context: dg.AssetExecutionContext, args: Sequence[str]) -> tuple[list, object]:
    """``args`` without --select/--exclude, and dagster-dbt's invocation params for the step.

    The params carry the selection arguments for the step's subset (``selection_args``), its
    indirect selection, manifest, translator and project (None when dagster-dbt would write a
    selector into a temporary copy of the project).
    """
    from dagster_dbt import DagsterDbtTranslator
    from dagster_dbt.asset_utils import (
        extract_runtime_selection_from_args,
        get_updated_cli_invocation_params_for_context,
    )

    cleaned, selects, excludes = extract_runtime_selection_from_args(args)
    params = get_updated_cli_invocation_params_for_context(
        context.op_execution_context,
        {},
        DagsterDbtTranslator(),
        runtime_selects=selects,
        runtime_excludes=excludes,
    )
    return cleaned, params


def dbt_asset_events(
    raw: dict, params: object, context: dg.AssetExecutionContext, target_path: Path
) -> Iterator:
    """The Dagster events (Output, AssetCheckResult, ...) dagster-dbt makes of one dbt event."""
    from dagster_dbt.core.dbt_cli_event import DbtCoreCliEventMessage

    event = DbtCoreCliEventMessage(raw_event=raw, event_history_metadata={})
    yield from event.to_default_asset_events(
        manifest=params.manifest,
        dagster_dbt_translator=params.dagster_dbt_translator,
        context=context,
        target_path=target_path,
        project=params.dbt_project,
    )


def dbt_event_dict(message: object) -> dict:
    """A dbt event message (a ``dbtRunner`` callback's argument) as dbt's JSON log writes it."""
    from dbt_common.events.functions import msg_to_dict

    return msg_to_dict(message)


def release_duckdb() -> None:
    """Close dbt-duckdb's database in this process (and with it its connection to the catalog).

    dbt-duckdb keeps one database per process, with the lake attached and its own configuration:
    closed after each build, no connection to the catalog outlives the step's dbt command.
    """
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager as Manager

    try:
        env = Manager.env()
    except Exception:  # noqa: BLE001 (dbt-duckdb's bare Exception: no database open)
        return
    Manager.close_all_connections()  # forgets the database, without closing it
    env.close()
