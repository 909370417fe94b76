"""Packaging a trained net: a self-contained ONNX file, its parity check, versions, a model card.

torch, onnx and onnxruntime are imported inside the functions: every dagster process imports the
code location, and those libraries cost seconds each.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import subprocess
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import onnxruntime as ort
    import polars as pl
    import torch

    from factory_assets.lib.training.dataset import Preprocessor
    from factory_assets.lib.training.heads import ServingNet

PROJECT_ROOT = Path(__file__).resolve().parents[2]


class ParityError(RuntimeError):
    """ONNX outputs differ from torch beyond tolerance; message gives max abs diff."""


@contextlib.contextmanager
def _quiet_exporter() -> Iterator[None]:
    """Silence the dynamo exporter's known, harmless notices; real errors still raise."""
    registration = logging.getLogger("torch.onnx._internal.exporter._registration")
    level = registration.level
    registration.setLevel(logging.ERROR)  # "torchvision is not installed. Skipping ..." x4
    try:
        with warnings.catch_warnings():
            # torch's own pytree code trips its own deprecation (torch 2.13), not ours to fix.
            warnings.filterwarnings(
                "ignore", message=r"`isinstance\(treespec, LeafSpec\)`", category=FutureWarning
            )
            yield
    finally:
        registration.setLevel(level)


# the graph's output per task: binary [batch], regression [batch], multiclass [batch, classes]
OUTPUT_NAMES = {"binary": "probability", "regression": "prediction", "multiclass": "probabilities"}


def served_net(net: torch.nn.Module, preprocessor: Preprocessor | None = None) -> ServingNet:
    """``net`` with its task's head (lib/training/heads.py), in eval mode: what is exported.

    ``net`` may already be a ServingNet; otherwise the head is the task ``preprocessor``
    recorded, binary (a sigmoid) without one.

    Raises:
        ValueError: a net of several outputs (multiclass) without its preprocessor.
    """
    from factory_assets.lib.training.dataset import Preprocessor
    from factory_assets.lib.training.heads import ServingNet, serving_net

    if isinstance(net, ServingNet):
        return net.eval()
    if preprocessor is None and getattr(net, "outputs", 1) != 1:
        raise ValueError(
            f"a net of {net.outputs} outputs is served by its task's head: pass the "
            "preprocessor it was trained with"
        )
    return serving_net(net, preprocessor or Preprocessor())


def _inline_external_data(path: Path) -> None:
    """Fold any ``<file>.data`` weights back into the file so it is the only artefact."""
    import onnx

    sidecar = path.with_name(path.name + ".data")
    model = onnx.load(str(path), load_external_data=False)
    external = any(t.data_location == onnx.TensorProto.EXTERNAL for t in model.graph.initializer)
    if external:
        model = onnx.load(str(path))
        onnx.save_model(model, str(path), save_as_external_data=False)
    sidecar.unlink(missing_ok=True)
    onnx.checker.check_model(str(path))


def export_onnx(
    net: torch.nn.Module,
    n_cat: int,
    n_num: int,
    path: Path,
    preprocessor: Preprocessor | None = None,
) -> Path:
    """Export ``net`` with its task's head as one ONNX file serving a dynamic batch.

    Inputs ``cat`` (int64 [batch, n_cat]) and ``num`` (float32 [batch, n_num]); one output, by
    the task ``preprocessor`` recorded (``served_net``): ``probability`` (binary, float32
    [batch]), ``prediction`` (regression, [batch] in the label's units) or ``probabilities``
    (multiclass, [batch, classes]). The file is written under a temporary name and renamed,
    so ``path`` holds a whole model or nothing. Puts ``net`` in eval mode.

    Returns:
        ``path``.

    """
    import torch

    served = served_net(net, preprocessor)
    device = next(served.parameters()).device
    # Batch 2, not 1: torch.export specialises size-1 dims, which would pin the batch.
    example = (
        torch.zeros(2, n_cat, dtype=torch.long, device=device),
        torch.zeros(2, n_num, dtype=torch.float32, device=device),
    )
    # One named Dim plus DYNAMIC on the tied input: naming both warns "axis name not used".
    shapes = {"cat": {0: torch.export.Dim("batch")}, "num": {0: torch.export.Dim.DYNAMIC}}
    path = Path(path)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.partial.onnx")
    try:
        with _quiet_exporter():
            torch.onnx.export(
                served,
                example,
                str(tmp),
                input_names=["cat", "num"],
                output_names=[OUTPUT_NAMES[served.task.kind]],
                dynamic_shapes=shapes,
                external_data=False,
                dynamo=True,
                verbose=False,
            )
        _inline_external_data(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
        tmp.with_name(tmp.name + ".data").unlink(missing_ok=True)
    path.with_name(path.name + ".data").unlink(missing_ok=True)  # stale from an older export
    return path


def open_session(path: Path | str) -> ort.InferenceSession:
    """An onnxruntime CPU session using every core for each call.

    Set explicitly: left to its default, onnxruntime ran day-sized batches here about 1.4x
    slower (it sized its pool from physical cores).
    """
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = os.cpu_count() or 1
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def onnx_predict(
    session_or_path: ort.InferenceSession | Path | str, cat: np.ndarray, num: np.ndarray
) -> np.ndarray:
    """The model's predictions from a session or a file (opened on CPU).

    Shaped as the task serves them: [batch] (a probability, a value) or [batch, classes].
    """
    session = session_or_path
    if isinstance(session_or_path, str | Path):
        session = open_session(session_or_path)
    feeds = {
        "cat": np.ascontiguousarray(cat, dtype=np.int64),
        "num": np.ascontiguousarray(num, dtype=np.float32),
    }
    (out,) = session.run(None, feeds)  # the graph's one output, whatever its task names it
    out = np.asarray(out)
    return out if out.ndim == 2 else out.reshape(-1)  # noqa: PLR2004 (multiclass [batch, k])


def check_parity(  # noqa: PLR0913
    net: torch.nn.Module,
    onnx_path: Path,
    cat: np.ndarray,
    num: np.ndarray,
    atol: float = 1e-5,
    preprocessor: Preprocessor | None = None,
) -> float:
    """Max difference between torch's and onnxruntime's predictions on one sample.

    torch serves ``served_net(net, preprocessor)``; any shape ([batch], [batch, classes]) is
    compared. A difference is absolute, and relative where the value (or a regression label's
    std) is above 1: float32 holds about 7 digits, so a prediction of thousands cannot agree
    to 1e-5 absolute. Puts ``net`` in eval mode.

    Raises:
        ParityError: the difference exceeds ``atol`` (or the outputs disagree in shape or are NaN).

    """
    import torch

    served = served_net(net, preprocessor)
    device = next(served.parameters()).device
    with torch.no_grad():
        expected = (
            served(
                torch.as_tensor(cat, dtype=torch.long, device=device),
                torch.as_tensor(num, dtype=torch.float32, device=device),
            )
            .cpu()
            .numpy()
        )
    expected = expected if expected.ndim == 2 else expected.reshape(-1)  # noqa: PLR2004
    actual = onnx_predict(onnx_path, cat, num)
    return parity_diff("torch", expected, actual, atol, max(1.0, float(served.label_std)))


def parity_diff(
    source: str, expected: np.ndarray, actual: np.ndarray, atol: float, floor: float = 1.0
) -> float:
    """Max difference of onnxruntime's ``actual`` from ``source``'s ``expected`` predictions.

    Absolute, and relative where the value is above ``floor`` (at least 1; a net also passes its
    regression label's std): float32 holds about 7 digits, so a prediction of thousands cannot
    agree to 1e-5 absolute.

    Raises:
        ParityError: above ``atol``, NaN, or outputs of different shapes.
    """
    if expected.shape != actual.shape:
        raise ParityError(f"shape differs: {source} {expected.shape}, onnx {actual.shape}")
    scale = np.maximum(np.abs(expected), floor)
    diff = float(np.max(np.abs(expected - actual) / scale)) if expected.size else 0.0
    if not diff <= atol:  # also catches NaN
        raise ParityError(f"max abs diff {diff:.3g} > atol {atol:.1g} on {expected.size} rows")
    return diff


def write_graph(proto, path: Path) -> Path:  # noqa: ANN001 (an onnx ModelProto)
    """Check ``proto`` and write it to ``path`` whole or not at all (temp file, then rename)."""
    import onnx

    path = Path(path)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.partial.onnx")
    try:
        onnx.checker.check_model(proto)
        tmp.write_bytes(proto.SerializeToString())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def data_version(frame: pl.DataFrame, window: tuple[str, str]) -> str:
    """Content hash of the training rows and the window, blind to row and column order.

    Row hashes come from polars ``hash_rows(seed=0)``, which polars does not promise to keep
    across its versions: an upgrade may change the version of unchanged data.

    Returns:
        ``"sha256:<16 hex>"``.

    """
    columns = sorted(frame.columns)
    digest = hashlib.sha256(f"window={window[0]}..{window[1]}\n".encode())
    digest.update(f"rows={frame.height}\n".encode())
    for name in columns:
        digest.update(f"{name}:{frame.schema[name]}\n".encode())
    if frame.height and columns:
        hashes = frame.select(columns).hash_rows(seed=0)
        digest.update(np.sort(hashes.to_numpy()).astype("<u8").tobytes())  # sorted: order-free
    return f"sha256:{digest.hexdigest()[:16]}"


def _git(repo: Path, *args: str) -> str:
    # --no-optional-locks: status must not take .git/index.lock from a concurrent commit.
    command = ["git", "--no-optional-locks", "-C", str(repo), *args]
    return subprocess.run(command, capture_output=True, text=True, check=True, timeout=30).stdout


def code_version(repo: Path | None = None) -> str:
    """``git rev-parse HEAD`` of ``repo`` (default: the project), ``-dirty`` if it has changes.

    Returns:
        The commit hash, maybe suffixed ``-dirty``; ``"unknown"`` outside git or without git.

    """
    repo = PROJECT_ROOT if repo is None else Path(repo)
    try:
        commit = _git(repo, "rev-parse", "--verify", "HEAD").strip()
        dirty = bool(_git(repo, "status", "--porcelain").strip())
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{commit}-dirty" if dirty else commit
