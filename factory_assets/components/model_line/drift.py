"""<model>_drift_report: a day's inputs and predictions against each champion's reference."""

import dagster as dg
import polars as pl
from dagster_duckdb import DuckDBResource

from factory_assets.components.model_line.common import judge_periods, period_monitor, periods
from factory_assets.defs.resources import ReportStore, TrackingStore
from factory_assets.lib.model_line import ModelLine
from factory_assets.lib.warehouse import replace_partitions

DRIFT_CHECK = "drift_within_threshold"
_REFERENCES: dict = {}  # (store, model, version, window) -> (rows, profiles by columns)


def reference(duckdb: DuckDBResource, tracking: TrackingStore, line: ModelLine, name: str):  # noqa: ANN201
    """The champion of ``name``, its training window, and its rows with its own predictions."""
    from factory_assets.lib.scoring import load_alias

    registry = tracking.registry()
    champion = registry.version(name, "champion")
    if champion is None:
        raise dg.Failure(f"model {name!r} has no champion: nothing to compare with")
    if "train_start" not in champion.tags:
        raise dg.Failure(f"{name} v{champion.version} has no train_start/train_end tags")
    window = (champion.tags["train_start"], champion.tags["train_end"])
    if line.batches:  # the training rows of the batches it saw, not of those landed since
        if "last_batch" not in champion.tags:
            raise dg.Failure(f"{name} v{champion.version} has no last_batch tag")
        window = (*window, champion.tags["last_batch"])
    key = (tracking.tracking_uri, name, str(champion.version), window)
    if key not in _REFERENCES:  # one champion's reference is fixed: build it once per process
        _, model = load_alias(registry, name, "champion")
        with duckdb.get_connection() as conn:
            frame = conn.sql(line.window_sql(), params=list(window)).pl()
        if "segment" in champion.tags:
            frame = frame.filter(
                pl.col(champion.tags["segment_column"]) == champion.tags["segment"]
            )
        frame = frame.with_columns(pl.Series("prediction", model.predict(frame)))
        if len(_REFERENCES) > 64:
            _REFERENCES.clear()
        _REFERENCES[key] = (frame, {})
    frame, profiles = _REFERENCES[key]
    return champion, window, frame, profiles


def _markdown(table: pl.DataFrame) -> str:
    lines = ["| model | column | method | score | drifted |", "|---|---|---|---|---|"]
    for row in table.sort("score", descending=True, nulls_last=True).iter_rows(named=True):
        flag = "**yes**" if row["drifted"] else "no"
        lines.append(
            f"| {row['model_name']} | {row['column_name']} | {row['method']} "
            f"| {row['score']:.3f} | {flag} |"
        )
    return "\n".join(lines[:202])


def drift_of(current, line, config, duckdb, tracking, name, day) -> tuple:  # noqa: ANN001, PLR0913
    """One served model's drift on the day: (table rows, share, reference rows, columns)."""
    from factory_assets.lib.drift import (
        MIN_REFERENCE_ROWS,
        ReferenceProfile,
        drift_table,
        drifted_share,
        evidently_drift,
    )
    from factory_assets.lib.monitoring import monitored_columns

    version, window, ref, profiles = reference(duckdb, tracking, line, name)
    c = line.columns
    numerical, categorical = monitored_columns(line.drift_ignore, c.numeric, c.categorical)
    columns = (tuple(numerical), tuple(categorical))
    if line.split and ref.height < MIN_REFERENCE_ROWS:  # a small table without a time axis
        results = evidently_drift(ref, current, numerical, categorical)
    else:
        if columns not in profiles:
            profiles[columns] = ReferenceProfile.from_frame(ref, numerical, categorical)
        results = profiles[columns].drift(current, config.column_threshold)
    share = drifted_share(results)
    table = drift_table(results).with_columns(
        pl.lit(day).alias("day"),
        pl.lit(name).alias("model_name"),
        pl.lit(str(version.version)).alias("champion_version"),
        pl.lit(share).alias("drifted_share"),
    )
    return table, share, ref, (numerical, categorical), window


def build_drift_report(spec, line: ModelLine, config_cls: type) -> dg.AssetsDefinition:  # noqa: ANN001
    """The daily ``<model>_drift_report`` asset of ``line`` with its blocking-free check."""
    key = line.asset("drift_report")
    check = dg.AssetCheckSpec(
        DRIFT_CHECK,
        asset=key,
        partitions_def=periods(line),
        description="The share of drifted model inputs stays at or under the threshold "
        f"({spec.monitoring.drift.max_drifted_share}) for every model serving the day.",
    )

    @period_monitor(
        spec,
        line,
        "drift_report",
        check,
        deps=[line.predictions, line.features],
        kinds={"evidently", "duckdb"},
        description=(
            f"Drift of the day's {line.name} inputs and predictions from the champion's training "
            "data. Per-column verdicts are Evidently's (normed Wasserstein / Jensen-Shannon) "
            "computed exactly from a profile of the reference, at a cost flat in history; the "
            f"Evidently DataDriftPreset HTML report is saved and linked. Table {line.drift_table}."
            " A run over several days judges each day on its own."
        ),
    )
    def _drift(
        context: dg.AssetExecutionContext,
        config: config_cls,
        duckdb: DuckDBResource,
        tracking: TrackingStore,
        reports: ReportStore,
    ):  # noqa: ANN202 (yields each day's materialization and check evaluation)
        yield from judge_periods(
            context,
            line,
            DRIFT_CHECK,
            lambda key: _drift_period(key, line, config, duckdb, tracking, reports),
        )

    return _drift


def _day(line: ModelLine, key: str) -> object:
    """The drift table's ``day`` of a partition: its date (hour), or a batch's key."""
    if line.batches:
        return key
    return line.moment(line.calendar.period(key).start)


def _drift_period(key: str, line, config, duckdb, tracking, reports) -> tuple:  # noqa: ANN001, PLR0913
    """One period's (batch's) drift: (materialization metadata, passed, check metadata)."""
    from factory_assets.lib.drift import write_evidently_report

    day = _day(line, key)
    with duckdb.get_connection() as conn:
        scored = conn.sql(line.scored_sql(), params=line.params([key])).pl()
    if scored.height == 0:
        raise dg.Failure(f"no scored rows in {key}: materialize {line.predictions} first")
    mine = [name for name in scored["model_name"].unique() if line.owns(name)]
    own = scored.filter(pl.col("model_name").is_in(mine))
    tables, shares, failed, metadata, skipped = [], {}, [], {}, {}
    for (name,), current in own.partition_by("model_name", as_dict=True).items():
        try:
            table, share, ref, columns, window = drift_of(
                current, line, config, duckdb, tracking, name, day
            )
        except ValueError as err:  # a segment's reference too small for Evidently's tests
            skipped[name] = str(err)
            continue
        tables.append(table)
        shares[name] = share
        passed = share <= config.max_drifted_share
        failed += [] if passed else [name]
        if config.html_report == "always" or (config.html_report == "drifted" and not passed):
            sample = ref.sample(min(config.report_reference_rows, ref.height), seed=0)
            path = reports.path(name, f"drift_{key.replace(':', '')}.html")
            write_evidently_report(sample, current, *columns, path)
            metadata["report"] = dg.MetadataValue.path(str(path))
            metadata["report_url"] = dg.MetadataValue.url(path.as_uri())
        metadata["reference_window"] = f"{window[0]} … {window[1]} ({ref.height} rows)"
    not_judged = {"fallback_rows": scored.height - own.height, **{
        f"not_evaluated_{name}": reason for name, reason in skipped.items()}}  # fmt: skip
    if not tables:  # every row served by the fallback (which monitors itself), or too few
        return not_judged, True, {"day": key, "evaluated": False}
    table = pl.concat(tables)
    with duckdb.get_connection() as conn:
        replace_partitions(conn, [(line.drift_table, table)], "day", [day])
    share = max(shares.values())
    drifted = table.filter("drifted")
    text = ", ".join(sorted(set(drifted["column_name"].to_list()))) or "(none)"
    materialization = {
        **metadata,
        "drifted_share": share,
        "drifted_columns": text,
        "prediction_drift_score": float(
            table.filter(pl.col("column_name") == "prediction")["score"].max()
        ),
        "champion_version": ", ".join(sorted(set(table["champion_version"]))),
        "current_rows": scored.height,
        **not_judged,
        "columns": dg.MetadataValue.md(_markdown(table)),
    }
    verdict = {
        "day": key,
        "drifted_share": share,
        "max_drifted_share": config.max_drifted_share,
        "drifted_columns": text,
        "failed_models": ", ".join(failed) or "(none)",
    }
    return materialization, not failed, verdict
