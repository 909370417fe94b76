"""One period's drift: each served model's inputs and predictions against its champion's reference.

The ``<model>_drift_report`` station calls ``judge_drift`` per partition; the reference of a
champion (its training rows with its own predictions) is built once (lib/drift_reference.py).
"""

import polars as pl

from factory_assets.lib.drift_reference import DriftError, reference
from factory_assets.lib.drift_window import window_keys
from factory_assets.lib.markdown import markdown_table
from factory_assets.lib.model_line import ModelLine
from factory_assets.lib.warehouse import replace_partitions, table_exists

__all__ = ["DriftError", "drift_markdown", "drift_of", "judge_drift"]


def drift_markdown(table: pl.DataFrame, max_rows: int = 200) -> str:
    """The drift table as Markdown, the most drifted columns first."""
    rows = [
        (
            row["model_name"],
            row["column_name"],
            row["method"],
            "–" if row["score"] is None else f"{row['score']:.3f}",  # a column without values
            "**yes**" if row["drifted"] else "no",
        )
        for row in table.sort("score", descending=True, nulls_last=True).iter_rows(named=True)
    ]
    header = ["model", "column", "method", "score", "drifted"]
    return markdown_table(header, rows, max_rows=max_rows)


def _scored(conn, key: str, line: ModelLine, config, batches: list | None) -> tuple:  # noqa: ANN001
    """(Scored rows, keys) of the window of ``config.window`` periods (batches) ending with ``key``.

    The rows are the window's feature rows with their predictions, once ``key`` is scored: none
    when ``key`` has no rows to score; DriftError if its rows were not scored. A dated line
    reads the window once, each row marked whether it is ``key``'s (on a lake each read of the
    join costs ~0.1 s); a batched one reads the batch, then the window.
    """
    first = f"materialize {line.predictions} of {key} first"
    if not table_exists(conn, line.predictions):
        raise DriftError(f"no table {line.predictions} yet: {first}")
    keys = window_keys(line, key, config.window, batches)
    if line.batches or len(keys) == 1:
        scored = conn.sql(line.scored_sql(), params=line.params([key])).pl()
        if scored.height and len(keys) > 1:
            scored = conn.sql(line.scored_sql(), params=line.params(keys)).pl()
    else:
        date = line.columns.date
        window = conn.sql(
            f"select *, ({date} >= ? and {date} < ?) as __of_key from ({line.scored_sql()})",
            params=[*line.params([key]), *line.params(keys)],
        ).pl()
        own = window.filter(pl.col("__of_key"))
        scored = (window if own.height else own).drop("__of_key")
    if scored.height:
        return scored, keys
    rows = conn.sql(f"select count(*) from ({line.periods_sql()})", params=line.params([key]))
    unscored = rows.fetchall()[0][0]
    if unscored:  # rows to judge, none scored: the predictions step has not run on them
        raise DriftError(f"none of the {unscored} rows of {line.features} in {key} scored: {first}")
    return scored, keys


def _not_evaluated(key: str) -> dict:
    return {"day": key, "evaluated": False}


def drift_of(current, line, config, resources, name, day) -> tuple:  # noqa: ANN001
    """One served model's drift on a window: (table, share, statistic, calibration, ref, columns).

    Per-column verdicts are Evidently's (from the profile; Evidently's own tests for a column
    with under 1,001 usable reference rows, as Evidently decides per column; a segment whose
    whole reference is that small is not judged: ValueError); the window statistic (the
    largest relative score of a column or, with ``config.relations``, of a numeric input's
    residual given the others) is judged against the null of the reference's own windows
    (lib/drift_calibration.py).
    """
    from factory_assets.lib.drift import MIN_REFERENCE_ROWS, drift_table, drifted_share
    from factory_assets.lib.drift_window import calibration, reference_profile, verdicts
    from factory_assets.lib.monitoring import monitored_columns

    duckdb, tracking, reports = resources
    version, window, ref, profiles = reference(duckdb, tracking, line, name, reports)
    c = line.columns
    numerical, categorical = monitored_columns(
        line.drift_ignore, c.numeric, c.categorical, line.task.kind != "multiclass"
    )
    columns = (tuple(numerical), tuple(categorical))
    if name != line.name and ref.height < MIN_REFERENCE_ROWS:
        raise ValueError(
            f"the reference of segment {name} has {ref.height} rows; a segment's drift is "
            f"judged from {MIN_REFERENCE_ROWS}"
        )
    if columns not in profiles:
        profiles[columns] = reference_profile(ref, numerical, categorical)
    profile, tested = profiles[columns]
    results, scores = verdicts(profile, tested, ref, current, columns, config.column_threshold)
    null = calibration(
        profile,
        ref,
        line,
        (name, str(version.version), window, version.run_id),
        current,
        reports,
        profiles,
        config.relations,
    )
    statistic, column = null.statistic(scores + null.residual_scores(current))
    share = drifted_share(results)
    table = drift_table(results).with_columns(
        pl.lit(day).alias("day"),
        pl.lit(name).alias("model_name"),
        pl.lit(str(version.version)).alias("champion_version"),
        pl.lit(share).alias("drifted_share"),
        pl.lit(statistic).alias("drift_statistic"),
        pl.lit(column).alias("drift_statistic_column"),
        pl.lit(null.threshold(config.alpha)).alias("drift_threshold"),
    )
    return table, share, (statistic, column), null, ref, (numerical, categorical), window


def _day(line: ModelLine, key: str) -> object:
    """The drift table's ``day`` of a partition: its date (hour), or a batch's key."""
    if line.batches:
        return key
    return line.moment(line.calendar.period(key).start)


def judge_drift(
    key: str, line: ModelLine, config, duckdb, tracking, reports, batches=None
) -> tuple:  # noqa: ANN001, PLR0913
    """One period's (batch's) drift: (materialization metadata, passed, check metadata).

    The window judged is the ``config.window`` periods (batches, of ``batches``) ending with
    ``key``; a model fails when its window statistic exceeds its calibrated threshold, or its
    drifted share ``config.max_drifted_share`` where that is set. A period without feature rows
    has nothing to judge: it passes and says so. The metadata is plain data: ``report`` is a
    path, ``report_url`` a URL and ``columns`` Markdown.

    Raises:
        DriftError: the period's rows were not scored (its predictions not materialized), or
            a served model has no champion to compare with, or one without the tags of its
            training window.
    """
    from factory_assets.lib.drift import write_evidently_report
    from factory_assets.lib.drift_window import estimates

    day = _day(line, key)
    with duckdb.get_connection() as conn:
        scored, keys = _scored(conn, key, line, config, batches)
        estimated, estimate_failed = estimates(conn, line, key, dict(config.floors))
    if scored.height == 0:  # a period (batch) with no rows: scored, with nothing to judge
        detail = f"no rows to score in {key}: nothing to judge"
        return (
            {"current_rows": 0, "detail": detail},
            True,
            {**_not_evaluated(key), "detail": detail},
        )
    mine = [name for name in scored["model_name"].unique() if line.owns(name)]
    own = scored.filter(pl.col("model_name").is_in(mine))
    tables, judged, failed, metadata, skipped = [], {}, [], {}, {}
    for (name,), current in own.partition_by("model_name", as_dict=True).items():
        try:
            table, share, (statistic, column), null, ref, columns, window = drift_of(
                current, line, config, (duckdb, tracking, reports), name, day
            )
        except ValueError as err:  # a segment's reference too small to profile
            skipped[name] = str(err)
            continue
        tables.append(table)
        threshold = null.threshold(config.alpha)
        bound = config.max_drifted_share
        passed = statistic <= threshold and (bound is None or share <= bound)
        judged[name] = (statistic, threshold, share, null, column)
        failed += [] if passed else [name]
        if config.html_report == "always" or (config.html_report == "drifted" and not passed):
            sample = ref.sample(min(config.report_reference_rows, ref.height), seed=0)
            path = reports.path(name, f"drift_{key.replace(':', '')}.html")
            write_evidently_report(sample, current, *columns, path)
            metadata["report"], metadata["report_url"] = str(path), path.as_uri()
        metadata["reference_window"] = f"{window[0]} … {window[1]} ({ref.height} rows)"
    not_judged = {"fallback_rows": scored.height - own.height, **{
        f"not_evaluated_{name}": reason for name, reason in skipped.items()}}  # fmt: skip
    if not tables:  # every row served by the fallback (which monitors itself), or too few
        return not_judged, True, _not_evaluated(key)
    table = pl.concat(tables)
    with duckdb.get_connection() as conn:
        replace_partitions(conn, [(line.drift_table, table)], "day", [day])
    # the model nearest its alarm speaks for the period (the only one, unless segmented)
    worst = max(judged, key=lambda n: judged[n][0] - judged[n][1])
    statistic, threshold, share, null, column = judged[worst]
    drifted = table.filter("drifted")
    text = ", ".join(sorted(set(drifted["column_name"].to_list()))) or "(none)"
    calibrated = {
        "drift_statistic": statistic,
        "drift_threshold": threshold,
        "drift_statistic_column": column or "(none)",
        "alpha": config.alpha,
        "window_periods": len(keys),
        "calibrated_on": f"reference windows of {null.periods} period(s)"
        if null.periods
        else f"reference windows of {null.rows} random rows",
        **null.quantiles(),
    }
    materialization = {
        **metadata,
        "drifted_share": share,
        **calibrated,
        "drifted_columns": text,
        "prediction_drift_score": float(
            table.filter(pl.col("column_name") == "prediction")["score"].max()
        ),
        "champion_version": ", ".join(sorted(set(table["champion_version"]))),
        "current_rows": scored.height,
        **estimated,
        **not_judged,
        "columns": drift_markdown(table),
    }
    verdict = {
        "day": key,
        "drifted_share": share,
        **calibrated,
        "max_drifted_share": "none"
        if config.max_drifted_share is None
        else config.max_drifted_share,
        "drifted_columns": text,
        "failed_models": ", ".join(failed) or "(none)",
        **estimated,
        "estimate_failed_models": ", ".join(f.split(":")[0] for f in estimate_failed) or "(none)",
    }
    if failed:
        verdict["detail"] = (
            f"drift statistic {statistic:.2f} ({column}) above its calibrated threshold "
            f"{threshold:.2f} "
            f"(alpha {config.alpha}, {len(keys)} period(s); drifted share {share:.2f})"
        )
    return materialization, not failed, verdict
