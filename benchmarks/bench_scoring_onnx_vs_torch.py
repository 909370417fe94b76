"""Batch scoring throughput: the packaged ONNX model (onnxruntime) vs the same net in torch eager.

Both score the same preprocessed rows (the full 2013 year of flight features) in the same
process, one call per day of flights, as flight_predictions scores a daily partition; the
outputs must agree to 1e-5 before a ratio is written. The same comparison with 65,536-row
calls is recorded too (``large_batch_*``): there torch's per-call overhead no longer matters.
The net is trained for one epoch on January, so the weights are those of a real model.
"""

import statistics
import tempfile
from pathlib import Path

import numpy as np

from benchmarks.bench_features_vs_pandas import build_inputs
from benchmarks.common import timed_pair, write_result
from factory_assets.lib.features.flights import CATEGORICAL, NUMERIC, flight_features

NAME = "scoring_onnx_vs_torch"
GOAL = 2
REPEATS = 9
LARGE_BATCH = 65_536


def _inputs():  # noqa: ANN202
    """A trained net, the preprocessed rows of the year, and the row offsets of each day."""
    import polars as pl

    from factory_assets.lib.training.dataset import ModelColumns
    from factory_assets.lib.training.train import TrainConfig, train_model

    flights, weather, planes = build_inputs()
    features = flight_features(flights, flights, weather, planes)
    labelled = features.join(flights.select("flight_id", "is_late"), on="flight_id")
    config = TrainConfig("2013-01-01", "2013-01-31", val_days=7, max_epochs=1)
    columns = ModelColumns(
        "flight_id", "flight_date", "is_late", tuple(CATEGORICAL), tuple(NUMERIC)
    )
    outcome = train_model(labelled.filter(pl.col("is_late").is_not_null()), config, columns=columns)
    features = features.sort("flight_date", maintain_order=True)
    cat, num = outcome.preprocessor.transform(features)
    sizes = features.group_by("flight_date", maintain_order=True).len()["len"].to_numpy()
    return outcome, cat, num, np.concatenate([[0], np.cumsum(sizes)])


def _in_batches(score, cat: np.ndarray, num: np.ndarray, bounds) -> np.ndarray:  # noqa: ANN001
    edges = [int(b) for b in bounds]
    pairs = zip(edges[:-1], edges[1:], strict=True)
    return np.concatenate([score(cat[a:b], num[a:b]) for a, b in pairs])


def main() -> dict:
    """Time both paths on identical rows, check they agree, write the result."""
    import onnxruntime as ort
    import torch

    from factory_assets.lib.packaging import export_onnx, onnx_predict, open_session

    outcome, cat, num, days = _inputs()
    large = np.append(np.arange(0, len(cat), LARGE_BATCH), len(cat))
    net = outcome.net.eval()

    def torch_score(c: np.ndarray, n: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            return torch.sigmoid(net(torch.from_numpy(c), torch.from_numpy(n))).numpy()

    with tempfile.TemporaryDirectory() as tmp:
        path = export_onnx(net, cat.shape[1], num.shape[1], Path(tmp) / "model.onnx")
        session = open_session(path)

        def onnx_score(c: np.ndarray, n: np.ndarray) -> np.ndarray:
            return onnx_predict(session, c, n)

        baseline, baseline_s, candidate, candidate_s = timed_pair(
            lambda: _in_batches(torch_score, cat, num, days),
            lambda: _in_batches(onnx_score, cat, num, days),
            REPEATS,
        )
        _, large_baseline_s, _, large_candidate_s = timed_pair(
            lambda: _in_batches(torch_score, cat, num, large),
            lambda: _in_batches(onnx_score, cat, num, large),
            REPEATS,
        )
    diff = float(np.max(np.abs(candidate - baseline)))
    if diff > 1e-5:
        raise AssertionError(f"ONNX and torch disagree: max abs diff {diff}")
    record = write_result(
        NAME,
        baseline=f"torch {torch.__version__} eager, inference_mode, CPU",
        candidate=f"onnxruntime {ort.__version__} CPUExecutionProvider, packaged model.onnx",
        baseline_times=baseline_s,
        candidate_times=candidate_s,
        goal=GOAL,
        rows=len(cat),
        extra={
            "goal_text": f">= {GOAL}",
            "max_abs_diff": diff,
            "calls": f"one per day (365 calls, mean {round(len(cat) / 365)} rows)",
            "large_batch_rows": LARGE_BATCH,
            "large_batch_baseline_s": statistics.median(large_baseline_s),
            "large_batch_candidate_s": statistics.median(large_candidate_s),
            "large_batch_ratio": statistics.median(large_baseline_s)
            / statistics.median(large_candidate_s),
            "torch_threads": torch.get_num_threads(),
            "baseline_rows_per_s": round(len(cat) / statistics.median(baseline_s)),
            "candidate_rows_per_s": round(len(cat) / statistics.median(candidate_s)),
        },
    )
    verdict = "met" if record["goal_met"] else "NOT met"
    print(
        f"{NAME}: torch {record['baseline_s']:.3f}s, onnx {record['candidate_s']:.3f}s, "
        f"ratio {record['ratio']:.2f} (goal >= {GOAL}: {verdict}); "
        f"large batches {record['large_batch_ratio']:.2f}"
    )
    return record
