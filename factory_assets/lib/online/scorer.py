"""A packaged model compiled for FeatureBlocks: the Preprocessor as arrays, then onnxruntime.

``Preprocessor.transform`` runs Polars expressions; per request that is most of the model's cost.
``OnlineScorer`` computes the same numbers with numpy from a ``FeatureBlock``: each category's
vocabulary index (0 for unknown), each numeric column's ``(clip(x) - mean) / std`` in float64 (0
where null; clipped to the robust scaling's bounds, if any), the missing flags, then float32 as
``transform`` gives them. Built once per loaded model.
"""

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from factory_assets.lib.online.blocks import FeatureBlock
from factory_assets.lib.scoring import PackagedModel


def serving_session(onnx: bytes):  # noqa: ANN201 (onnxruntime.InferenceSession)
    """An onnxruntime CPU session for small batches: one thread, no spin-waiting."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.add_session_config_entry("session.inter_op.allow_spinning", "0")
    return ort.InferenceSession(onnx, options, providers=["CPUExecutionProvider"])


@dataclass(frozen=True)
class _Plan:
    """Where the preprocessor's inputs sit in a block with given columns."""

    numeric: np.ndarray  # column index of each Preprocessor.numeric
    flags: np.ndarray  # column index of each Preprocessor.missing_flags
    same: bool  # Preprocessor.numeric is the block's columns, in order: no gather needed


class OnlineScorer:
    """Probabilities for FeatureBlocks, equal to ``PackagedModel.predict(block.frame())``."""

    def __init__(self, model: PackagedModel, onnx: bytes | None = None) -> None:
        """Compile ``model``'s preprocessor; with ``onnx`` (its model.onnx), open a serving session.

        The serving session runs each call on the calling thread (one intra-op thread, no
        spinning): a request's batch is small, and on a shared 2-core machine a pool thread
        that spins after every call takes CPU from the next request. Without ``onnx``, the
        package's own session is used.
        """
        from factory_assets.lib.packaging import onnx_predict

        self.model = model
        self._predict = onnx_predict
        self.session = model.session if onnx is None else serving_session(onnx)
        pre = model.preprocessor
        self.codes = [
            (column, {v: i + 1 for i, v in enumerate(pre.vocab[column])})
            for column in pre.categorical
        ]
        self.means = np.array([pre.means[c] for c in pre.numeric], dtype=np.float64)
        self.stds = np.array([pre.stds[c] for c in pre.numeric], dtype=np.float64)
        bounds = [pre.clips.get(c, (-np.inf, np.inf)) for c in pre.numeric]
        self.low, self.high = np.array(bounds, dtype=np.float64).reshape(-1, 2).T
        self.clipped = bool(pre.clips)
        self._plans: dict[tuple[str, ...], _Plan | None] = {}

    def _plan(self, columns: Sequence[str], labels: Sequence[str]) -> _Plan | None:
        """Indices of the preprocessor's columns, or None if a block lacks one."""
        key = tuple(columns)
        if key not in self._plans:
            pre, where = self.model.preprocessor, {c: i for i, c in enumerate(columns)}
            known = set(where) | set(labels)
            needed = [*pre.numeric, *pre.missing_flags, *pre.categorical]
            self._plans[key] = (
                _Plan(
                    np.array([where[c] for c in pre.numeric], dtype=np.intp),
                    np.array([where[c] for c in pre.missing_flags], dtype=np.intp),
                    list(pre.numeric) == list(columns),
                )
                if all(c in known for c in needed)
                else None
            )
        return self._plans[key]

    def inputs(self, block: FeatureBlock) -> tuple[np.ndarray, np.ndarray] | None:
        """The model's (categorical, numeric) inputs, as ``Preprocessor.transform`` gives them.

        None when the block lacks a column the preprocessor reads (then use the Polars path).
        """
        plan = self._plan(block.columns, block.labels)
        if plan is None:
            return None
        n = block.height
        cat = np.array(
            [[codes.get(v, 0) for v in block.labels[column]] for column, codes in self.codes],
            dtype=np.int64,
        ).T.reshape(n, len(self.codes))
        values, valid = block.values, block.valid
        if not plan.same:
            values, valid = values[:, plan.numeric], valid[:, plan.numeric]
        k = len(self.means)
        if self.clipped:
            values = np.clip(values, self.low, self.high)
        num = np.empty((n, k + len(plan.flags)), dtype=np.float32)
        # float64 arithmetic as the Polars expression, then float32 as transform's astype
        num[:, :k] = np.where(valid, (values - self.means) / self.stds, 0.0)
        num[:, k:] = ~block.valid[:, plan.flags]
        return np.ascontiguousarray(cat), num

    def predict(self, block: FeatureBlock) -> np.ndarray:
        """The model's output for each row of ``block`` (as ``PackagedModel.predict`` gives it)."""
        if block.height == 0:
            return np.empty(0, dtype=np.float32)
        inputs = self.inputs(block)
        if inputs is None:
            return self.model.predict(block.frame())
        return self._predict(self.session, *inputs)
