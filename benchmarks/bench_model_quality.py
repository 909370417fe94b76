"""Served quality of every shipped model over a replayed year, against plain GBDT baselines.

For each shipped dataset it runs ``factory replay --dataset <d> --days <N> --batch-days 7`` in
its own state directory (``--reuse`` reads one a replay left instead), then, for every model of
the dataset, scores the same served, labelled rows three ways: (a) what the factory served (its
predictions table), (b) a frozen scikit-learn HistGradientBoosting trained once on the spec's
training window, (c) the same retrained before each month on the 90 periods before it (labels
landed by then; ``--window N`` another length, recorded apart), all on the spec's own inputs.
A month is a calendar month of the line's periods; a batched line's months are groups of
``--batch-group`` batches. The results, per model and measure (pooled per month, mean of
per-period values), go to
``results/model_quality[_<days>d][_window<N>].json`` and ``.md``.

    python -m benchmarks.bench_model_quality [--datasets nycflights] [--days 21] [--reuse]
        [--window 365]
"""

import argparse
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import polars as pl

from benchmarks import model_quality as mq
from benchmarks.common import RESULTS_DIR, machine, store_record

ROOT = Path(__file__).resolve().parents[1]
DATASETS = ("nycflights", "chicago", "screenings")
LANDING = {"chicago": ["--first", "2014-08-01"]}  # as the Makefile lands it
# the factory CLI of the checkout on PYTHONPATH
FACTORY = [sys.executable, "-c", "import sys; from factory_assets.cli import main; "
           "sys.exit(main(sys.argv[1:]))"]  # fmt: skip
WINDOW = 90  # periods (batches) a monthly GBDT learns from (the baseline; --window)
STATE_VARS = ("FACTORY_WAREHOUSE", "FACTORY_WAREHOUSE_DATA", "FACTORY_MLFLOW_TRACKING_URI",
              "FACTORY_MLFLOW_ARTIFACTS", "FACTORY_REPORTS_DIR", "FACTORY_RESULTS_DIR",
              "FACTORY_ONLINE_DIR")  # fmt: skip


def state_env(state: Path) -> dict[str, str]:
    """The environment of a replay whose every store lives under ``state``."""
    env = {k: v for k, v in os.environ.items() if k not in STATE_VARS}
    home = state / "dagster_home"
    home.mkdir(parents=True, exist_ok=True)
    if not (home / "dagster.yaml").exists():
        shutil.copy(ROOT / "dagster.yaml", home / "dagster.yaml")
    # the lake's catalog named (not left to the default): a project .env cannot move it
    warehouse = str(state / "warehouse.sqlite")  # its files beside it, warehouse.sqlite.files/
    # its own landing zone too: replays side by side never share a file
    return {**env, "FACTORY_STATE_DIR": str(state), "FACTORY_WAREHOUSE": warehouse,
            "FACTORY_DATA_DIR": str(state / "data"), "DAGSTER_HOME": str(home)}  # fmt: skip


def replay(dataset: str, days: int, state: Path, variables: dict | None = None) -> float:
    """Land ``dataset`` (as ``make data`` does) and replay it in ``state``; returns its seconds.

    ``variables`` are set in the replay's environment (e.g. ``FACTORY_RETRAIN_*``).
    """
    env, started = {**state_env(state), **(variables or {})}, time.perf_counter()
    land = [*FACTORY, "landing", "--dataset", dataset, *LANDING.get(dataset, [])]
    subprocess.run(land, env=env, check=True, cwd=ROOT)
    run = [*FACTORY, "replay", "--dataset", dataset, "--days", str(days), "--batch-days", "7"]
    subprocess.run(run, env=env, check=False, cwd=ROOT)  # failed runs are listed, not fatal
    return time.perf_counter() - started


def lines(dataset: str) -> list:
    """(spec, ModelLine) of every shipped model on ``dataset``."""
    import yaml

    from factory_assets.components.model_spec import MANIFEST, ModelSpec
    from factory_assets.lib.catalog import warehouse_tables
    from factory_assets.specs import shipped_datasets

    found, tables, known = [], warehouse_tables(MANIFEST), shipped_datasets()
    for path in sorted((ROOT / "factory_assets/defs/models").glob("*/defs.yaml")):
        spec = ModelSpec.model_validate(yaml.safe_load(path.read_text())["attributes"])
        line = spec.line(path, tables, known)
        if line.dataset == dataset:
            found.append((spec, line))
    return found


def served_rows(conn, line) -> pl.DataFrame:  # noqa: ANN001
    """Every labelled served row: features, label, what was served, its period and month."""
    from factory_assets.lib import live_holdout as lh
    from factory_assets.lib.warehouse import table_exists

    if not table_exists(conn, line.predictions):  # no champion ever served
        return pl.DataFrame()
    values = [v for v, labelled in lh.served_periods(conn, line, None) if labelled]
    if not values:
        return pl.DataFrame()
    rows = conn.sql(lh.rows_sql(line, False), params=[values]).pl()
    if line.batches:
        return rows.with_columns(pl.col(lh.PERIOD).cast(pl.String).alias("_period"))
    periods = {v: line.calendar.period_of(v) for v in set(rows[lh.PERIOD].to_list())}
    return rows.with_columns(
        pl.col(lh.PERIOD).replace_strict({v: p.key for v, p in periods.items()}).alias("_period"),
        pl.col(lh.PERIOD)
        .replace_strict({v: p.start.strftime("%Y-%m") for v, p in periods.items()})
        .alias("_month"),
    )


def replay_stores(state: Path) -> tuple:
    """A replay's MLflow tracking store and registry client (``state``'s mlflow.db, artifacts)."""
    from factory_assets.lib.registry import Registry
    from factory_assets.resources import TrackingStore

    uri = f"sqlite:///{state / 'mlflow.db'}"
    tracking = TrackingStore(tracking_uri=uri, artifact_location=str(state / "mlartifacts"))
    return tracking, Registry(uri).client


def labelled(conn, line, first, last) -> pl.DataFrame:  # noqa: ANN001
    """Labelled feature rows of [first, last] (dates, or a split's virtual days)."""
    frame = conn.sql(line.labelled_sql(), params=[first, last]).pl()
    return frame.filter(pl.col(line.columns.label).is_not_null())


def _fitter(line):  # noqa: ANN001, ANN202
    """train frame -> predict function, on the spec's inputs (a segmented line: + its column)."""
    c = line.columns
    categorical = list(c.categorical)
    if line.segments and line.segments.column not in c.inputs:
        categorical.append(line.segments.column)
    return lambda train: mq.fit_gbdt(line.task, train, c.label, categorical, list(c.numeric))


def _empty(line, n: int) -> np.ndarray:  # noqa: ANN001
    return np.zeros((n, len(line.task.classes)) if line.task.kind == "multiclass" else n)


def dated_baselines(conn, spec, line, rows: pl.DataFrame, window: int = WINDOW) -> tuple:  # noqa: ANN001
    """Frozen (spec's training window) and monthly (``window`` landed periods before) GBDTs."""
    fit, w = _fitter(line), spec.windows()
    frozen = fit(labelled(conn, line, w["train_start"], w["train_end"]))(rows)
    monthly = _empty(line, rows.height)
    for month in sorted(set(rows["_month"].to_list())):
        part = (rows["_month"] == month).to_numpy()
        start = dt.date.fromisoformat(f"{month}-01")
        end = line.labelled_through(start - dt.timedelta(days=1))
        first = line.calendar.shift(line.calendar.period_of(end), -(window - 1)).first_day
        monthly[part] = fit(labelled(conn, line, first, end))(rows.filter(part))
    return frozen, monthly


def batch_groups(rows: pl.DataFrame, size: int) -> pl.DataFrame:
    """A batched line's rows with ``_month``: groups of ``size`` served batches, in key order."""
    order = sorted(set(rows["_period"].to_list()))
    names = {}
    for i in range(0, len(order), size):
        group = order[i : i + size]
        names |= dict.fromkeys(group, f"{group[0]} … {group[-1]}")
    return rows.with_columns(pl.col("_period").replace_strict(names).alias("_month"))


def batched_baselines(conn, spec, line, rows: pl.DataFrame, window: int = WINDOW) -> tuple:  # noqa: ANN001
    """Frozen (training buckets of the batches before the first served) and per-group GBDTs."""
    from factory_assets.lib.model_line import SPLIT_DAY

    fit, w = _fitter(line), spec.windows()
    every = labelled(conn, line, w["train_start"], w["holdout_end"])
    batch = line.batch_column
    served = sorted(set(rows["_period"].to_list()))
    day = pl.col(SPLIT_DAY).cast(pl.Date)
    first_train = every.filter(
        (pl.col(batch).cast(pl.String) < served[0])
        & day.is_between(
            dt.date.fromisoformat(w["train_start"]), dt.date.fromisoformat(w["train_end"])
        )
    )
    frozen = fit(first_train)(rows)
    order = sorted(set(every[batch].cast(pl.String).to_list()) | set(served))
    monthly = _empty(line, rows.height)
    for group in sorted(set(rows["_month"].to_list())):
        part = (rows["_month"] == group).to_numpy()
        at = order.index(group.split(" … ")[0]) - line.label_lag
        known = order[max(0, at - window) : max(0, at)]
        train = every.filter(pl.col(batch).cast(pl.String).is_in(known))
        monthly[part] = fit(train)(rows.filter(part))
    return frozen, monthly


def registry_counts(state: Path, line) -> dict:  # noqa: ANN001
    """Versions registered and promotions (the first champion included) of the line's names."""
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{state / 'mlflow.db'}")
    names = [line.registry_name(s) for s in (line.segments.values if line.segments else [None])]
    versions = []
    for name in names:
        try:
            versions += client.search_model_versions(f"name='{name}'")
        except Exception:  # noqa: BLE001 (a segment never registered)
            continue
    promoted = sum("promoted_at" in v.tags for v in versions)
    return {"versions_registered": len(versions), "promotions": promoted}


def judge_model(
    conn, spec, line, state: Path, batch_group: int, window: int = WINDOW
) -> dict | None:  # noqa: ANN001
    """The benchmark's record of one model (None: nothing labelled was served)."""
    from factory_assets.lib import live_holdout as lh
    from factory_assets.lib.tasks import HIGHER_IS_BETTER

    rows = served_rows(conn, line)
    if rows.is_empty():
        return None
    if line.batches:
        rows = batch_groups(rows, batch_group)
        frozen, monthly = batched_baselines(conn, spec, line, rows, window)
    else:
        frozen, monthly = dated_baselines(conn, spec, line, rows, window)
    p = lh.SERVED_PREFIX
    versions = rows.select(pl.concat_str(f"{p}model_name", pl.lit(" v"), f"{p}model_version"))
    versions = versions.to_series().to_numpy()
    preds = {"factory": lh.served_predictions(rows, line), "frozen_gbdt": frozen,
             "monthly_gbdt": monthly}  # fmt: skip
    y = line.task.encode(rows[line.columns.label])
    segments = rows[line.segments.column].cast(pl.String).to_numpy() if line.segments else None
    record = mq.measures(line.task, y, preds, rows["_period"].to_numpy(),
                         rows["_month"].to_numpy(), versions, segments)  # fmt: skip
    return {
        "task": line.task.kind,
        "metric": line.task.primary,
        "higher_is_better": HIGHER_IS_BETTER[line.task.primary],
        "versions_served": len(set(versions.tolist())),
        **registry_counts(state, line),
        **record,
        "goal_met": all(
            record[m]["margin_vs_monthly"] is not None and record[m]["margin_vs_monthly"] >= 0
            for m in ("pooled", "per_period")
        ),
    }


def kept_records(record: dict, path: Path) -> dict:
    """``record`` with the models of datasets it did not replay kept from the file at ``path``.

    So one dataset's replay updates its own models and leaves the others' figures (each model
    names its dataset; the replay's seconds are kept by dataset too).
    """
    if not path.exists():
        return record
    before = json.loads(path.read_text())
    replayed = set(record["replay"]["datasets"])
    kept = {k: m for k, m in before.get("models", {}).items() if m["dataset"] not in replayed}
    if not kept:
        return record
    seconds = {
        k: v
        for k, v in before.get("replay", {}).get("seconds", {}).items()
        if k.split("_judged")[0] not in replayed
    }
    models = {**kept, **record["models"]}
    return {
        **record,
        "replay": {
            **record["replay"],
            "datasets": sorted(replayed | {m["dataset"] for m in kept.values()}),
            "seconds": {**seconds, **record["replay"]["seconds"]},
            "kept_from_before": sorted({m["dataset"] for m in kept.values()}),
        },
        "goal_met": all(m["goal_met"] for m in models.values()),
        "models": models,
    }


def main(argv: list[str] | None = None) -> dict:
    """Replay (or reuse) each dataset's year, judge every model, write JSON and Markdown."""
    from benchmarks.model_quality_report import markdown

    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_model_quality")
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=DATASETS)
    parser.add_argument("--days", type=int, default=0, help="periods replayed (0: the year)")
    parser.add_argument("--state", type=Path, default=ROOT / ".factory" / "model_quality")
    parser.add_argument(
        "--reuse", action="store_true", help="read the replays left in --state (or --state/<d>)"
    )
    parser.add_argument("--batch-group", type=int, default=4, help="batches per 'month'")
    parser.add_argument(
        "--window", type=int, default=WINDOW,
        help=f"periods the monthly GBDT learns from (default {WINDOW}, the goal's baseline; "
        "another value writes model_quality_window<N>)",
    )  # fmt: skip
    args = parser.parse_args(argv or [])
    from factory_assets.lib.lake import connect

    models, seconds = {}, {}
    for dataset in args.datasets:
        state = args.state / dataset
        if args.reuse and (args.state / "warehouse.sqlite").exists():
            state = args.state  # one state for every dataset, as `make year` leaves .factory/
        if not args.reuse:
            shutil.rmtree(state, ignore_errors=True)
            seconds[dataset] = round(replay(dataset, args.days, state), 1)
        started = time.perf_counter()
        with connect(state / "warehouse.sqlite", read_only=True) as conn:
            for spec, line in lines(dataset):
                found = judge_model(conn, spec, line, state, args.batch_group, args.window)
                if found is not None:
                    models[line.name] = {"dataset": dataset, **found}
        seconds[f"{dataset}_judged"] = round(time.perf_counter() - started, 1)
    record = {
        "name": "model_quality",
        "replay": {
            "datasets": args.datasets,
            "days": args.days,
            "batch_days": 7,
            "reused": args.reuse,
            "seconds": seconds,
        },
        "baselines": "sklearn HistGradientBoosting(categorical_features=..., max_iter=200, "
        f"learning_rate=0.05, random_state=0): frozen on the spec's training window; monthly on "
        f"the {args.window} periods (batches) before each month whose labels had landed",
        "goal": "margin_vs_monthly >= 0 for every model on both measures",
        "goal_met": all(m["goal_met"] for m in models.values()) if models else False,
        "models": models,
        "machine": machine(),
        "measured_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    name = "model_quality" + (f"_{args.days}d" if args.days else "")
    name += f"_window{args.window}" if args.window != WINDOW else ""
    record = kept_records(record, RESULTS_DIR / f"{name}.json")
    text = markdown(record)
    store_record(name, record, text)
    print(text)
    return record


if __name__ == "__main__":
    main(sys.argv[1:])
