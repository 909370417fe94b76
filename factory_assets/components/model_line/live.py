"""The evaluation station's live holdout: each segment's champion and challenger on served rows."""

import dagster as dg

from factory_assets.lib import uncertainty
from factory_assets.lib.live_gate import judge_live, live_tags
from factory_assets.lib.markdown import markdown_table
from factory_assets.lib.model_line import ModelLine
from factory_assets.lib.tasks import metric_label
from factory_assets.resources import Warehouse

WHO = ("challenger", "champion", "served")


def judge_live_segments(  # noqa: PLR0913
    duckdb: Warehouse,
    line: ModelLine,
    config,  # noqa: ANN001 (the Holdout config)
    trained: dict,
    results: dict,
    tracking,  # noqa: ANN001 (a TrackingStore)
) -> None:
    """Add ``live`` (lib/live_gate.py ``judge_live``) to each judged segment's result.

    Its window and metrics are also tags of the model's MLflow run (one write).
    """
    from mlflow.entities import RunTag

    from factory_assets.lib.holdout import torch_predict
    from factory_assets.lib.training.segment import load_run_model

    registry = tracking.registry()
    with duckdb.get_connection() as conn:
        for segment, result in results.items():
            model = trained[segment]
            if "metrics" not in result or "run_id" not in model:
                continue
            folder = result.get("model_folder", "training")  # a baseline standing in
            net, pre = load_run_model(tracking, model["run_id"], folder)
            result["live"] = judge_live(
                conn, line, segment, config, model,
                lambda frame, net=net, pre=pre: torch_predict(net, pre, frame), registry,
                tracking,
            )  # fmt: skip
            tags = live_tags(result["live"], line.task.primary)
            registry.client.log_batch(model["run_id"], tags=[RunTag(k, v) for k, v in tags.items()])


def _gain(live: dict, metric: str) -> str:
    """The challenger's paired gain over the champion and its interval, as the gate reads it."""
    gain = live.get("gain", {}).get(metric)
    if not gain:
        return ""
    low, high = uncertainty.bounds(gain["gain"], gain["se"])
    return f"{gain['gain']:+.4f} ({low:+.4f} … {high:+.4f})"


def _row(segment: str | None, live: dict, metric: str) -> tuple:
    w = live["window"]
    if "challenger" not in live:
        return (segment or "(all)", "", "", "", "", "", "", "", f"none: {w.get('why_none')}")
    window = f"{w['first']} … {w['last']}"
    figures = (f"{live[who][metric]:.4f}" for who in WHO)
    return (segment or "(all)", window, w["periods"], w["rows"], *figures, _gain(live, metric),
            f"champion v{live['champion_version']}")  # fmt: skip


def live_metadata(results: dict, line: ModelLine) -> dict:
    """The live holdout in the evaluation's metadata: window, and each model's primary metric."""
    metric = line.task.primary
    found = {s: r["live"] for s, r in results.items() if "live" in r}
    if not found:
        return {}
    name = metric_label(metric)
    level = f"{uncertainty.LEVEL:.0%}"
    header = ["segment", "live window", "periods", "rows", f"challenger {name}",
              f"champion {name}", f"served {name}", f"gain ({level} interval)",
              "note"]  # fmt: skip
    table = [_row(s, live, metric) for s, live in found.items()]
    metadata = {"live_holdout": dg.MetadataValue.md(markdown_table(header, table))}
    if list(found) == [None] and "challenger" in found[None]:
        live = found[None]
        metadata |= {f"live_{who}_{metric}": float(live[who][metric]) for who in WHO}
        gain = live.get("gain", {}).get(metric)
        if gain:
            metadata |= {f"live_gain_{metric}": gain["gain"], f"live_gain_{metric}_se": gain["se"]}
        metadata |= {"live_window": f"{live['window']['first']} … {live['window']['last']}",
                     "live_rows": live["window"]["rows"]}  # fmt: skip
    return metadata
