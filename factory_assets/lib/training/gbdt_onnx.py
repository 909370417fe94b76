"""A tree model (lib/training/gbdt.py) as ONNX with the net's signature, and its parity check.

The graph: ``cat`` (int64 [n, n_cat]) cast to float and concatenated with ``num`` (float32
[n, n_num]); LightGBM's trees as onnxmltools converts them (``target_opset=15``), their
post-transform set to NONE so that they give raw margins; then the calibration and the task's
head: ``probability`` = sigmoid(scale * m + shift) [n] (binary), ``probabilities`` =
softmax(scale * m) [n, classes] (multiclass), ``prediction`` = m [n] (regression). Registry,
batch and online scoring, drift and the edge package read it as they read the net's graph.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from factory_assets.lib.training.dataset import Preprocessor
from factory_assets.lib.training.gbdt import GbdtModel, predict_served

OPSET = 15
TREE_OPS = {"TreeEnsembleClassifier", "TreeEnsembleRegressor"}


def _trees(model: GbdtModel, width: int):  # noqa: ANN202 (the tree node, ml opset version)
    """The converted tree node, reading ``x`` and giving raw margins, and its ml opset."""
    from onnxmltools import convert_lightgbm
    from onnxmltools.convert.common.data_types import FloatTensorType

    converted = convert_lightgbm(
        model.booster,
        initial_types=[("x", FloatTensorType([None, width]))],
        target_opset=OPSET,
        zipmap=False,
    )
    (node,) = [n for n in converted.graph.node if n.op_type in TREE_OPS]
    for attribute in node.attribute:
        if attribute.name == "post_transform":
            attribute.s = b"NONE"  # raw margins: the calibration comes after
    ml = next(o.version for o in converted.opset_import if o.domain == "ai.onnx.ml")
    return node, ml


def _head(kind: str, margins: str, calibration: dict) -> tuple[list, list, str]:
    """Nodes and initializers from the tree node's output to the served output."""
    from onnx import TensorProto, helper

    from factory_assets.lib.packaging import OUTPUT_NAMES

    out = OUTPUT_NAMES[kind]
    scale = helper.make_tensor("calibration_scale", TensorProto.FLOAT, [], [calibration["scale"]])
    shift = helper.make_tensor("calibration_shift", TensorProto.FLOAT, [], [calibration["shift"]])
    flat = helper.make_tensor("flat", TensorProto.INT64, [1], [-1])
    if kind == "regression":  # [n, 1] -> [n]
        return [helper.make_node("Reshape", [margins, "flat"], [out])], [flat], out
    if kind == "multiclass":
        nodes = [
            helper.make_node("Mul", [margins, "calibration_scale"], ["scaled"]),
            helper.make_node("Softmax", ["scaled"], [out], axis=1),
        ]
        return nodes, [scale], out
    # binary: the classifier gives [-m, m] per row with no post-transform; take column 1
    one = helper.make_tensor("one", TensorProto.INT64, [], [1])
    nodes = [
        helper.make_node("Gather", [margins, "one"], ["margin"], axis=1),
        helper.make_node("Mul", ["margin", "calibration_scale"], ["scaled"]),
        helper.make_node("Add", ["scaled", "calibration_shift"], ["shifted"]),
        helper.make_node("Sigmoid", ["shifted"], [out]),
    ]
    return nodes, [one, scale, shift], out


def graph(model: GbdtModel, pre: Preprocessor):  # noqa: ANN201 (an onnx ModelProto)
    """The whole served graph of ``model`` with the inputs ``pre`` gives."""
    from onnx import TensorProto, helper

    n_cat, n_num = len(pre.categorical), pre.n_numeric
    trees, ml = _trees(model, n_cat + n_num)
    nodes, parts = [], []
    if n_cat:
        nodes.append(helper.make_node("Cast", ["cat"], ["cat_float"], to=TensorProto.FLOAT))
        parts.append("cat_float")
    if n_num:
        parts.append("num")
    nodes.append(helper.make_node("Concat", parts, ["x"], axis=1))
    nodes.append(trees)
    kind = pre.model_task.kind
    margins = trees.output[1] if trees.op_type == "TreeEnsembleClassifier" else trees.output[0]
    head, initializers, out = _head(kind, margins, pre.calibration)
    shape = ["n", len(pre.classes)] if kind == "multiclass" else ["n"]
    body = helper.make_graph(
        [*nodes, *head],
        "gbdt",
        [
            helper.make_tensor_value_info("cat", TensorProto.INT64, ["n", n_cat]),
            helper.make_tensor_value_info("num", TensorProto.FLOAT, ["n", n_num]),
        ],
        [helper.make_tensor_value_info(out, TensorProto.FLOAT, shape)],
        initializer=initializers,
    )
    opsets = [helper.make_opsetid("", OPSET), helper.make_opsetid("ai.onnx.ml", ml)]
    return helper.make_model(body, opset_imports=opsets, producer_name="factory-gbdt")


def export(model: GbdtModel, pre: Preprocessor, path: Path) -> Path:
    """Write the served graph to ``path`` whole or not at all (temp file, then rename)."""
    from factory_assets.lib.packaging import write_graph

    return write_graph(graph(model, pre), path)


def check_parity(  # noqa: PLR0913
    model: GbdtModel,
    pre: Preprocessor,
    onnx_path: Path,
    cat: np.ndarray,
    num: np.ndarray,
    atol: float = 1e-5,
) -> float:
    """Max difference between LightGBM's calibrated predictions and onnxruntime's.

    Absolute, and relative where a value is above 1 (a regression label in thousands).

    Raises:
        ParityError: above ``atol``, NaN, or outputs of different shapes.
    """
    from factory_assets.lib.packaging import onnx_predict, parity_diff

    expected = predict_served(model, pre, cat, num)
    return parity_diff("lightgbm", expected, onnx_predict(onnx_path, cat, num), atol)
