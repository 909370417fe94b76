"""A blend (lib/training/blend.py) as one ONNX graph with the usual signature, and its parity.

Each part's own graph (the net's through its export cache, the trees' from gbdt_onnx) with every
name prefixed ``part<i>/``, both reading the shared ``cat`` and ``num`` through Identity nodes;
their outputs summed and scaled by 1/parts under the first part's output name. Opsets: the
highest of each domain the parts import (the trees' ``ai.onnx.ml`` with it). Registry, batch and
online scoring and drift read it as any model's graph.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from factory_assets.lib.training.blend import BlendModel, predict_served


def _prefixed(proto, prefix: str):  # noqa: ANN001, ANN202 (onnx ModelProto)
    """A part's graph with every name prefixed, reading the shared ``cat`` and ``num``."""
    from onnx import compose, helper

    renamed = compose.add_prefix(proto, prefix)
    graph = renamed.graph
    feeds = [
        helper.make_node("Identity", [i.name.removeprefix(prefix)], [i.name]) for i in graph.input
    ]
    return graph, feeds, renamed


def merged_graph(protos: list):  # noqa: ANN201 (onnx ModelProtos -> ModelProto)
    """One graph of the parts' graphs: the same inputs, the mean of their one output."""
    from onnx import TensorProto, helper

    nodes, initializers, value_info, functions, outs = [], [], [], [], []
    opsets: dict[str, int] = {}
    for i, proto in enumerate(protos):
        graph, feeds, renamed = _prefixed(proto, f"part{i}/")
        nodes += [*feeds, *graph.node]
        initializers += list(graph.initializer)
        value_info += list(graph.value_info)
        functions += list(renamed.functions)
        (out,) = graph.output
        outs.append(out.name)
        for opset in proto.opset_import:
            opsets[opset.domain] = max(opsets.get(opset.domain, 0), opset.version)
    first = protos[0].graph
    (served,) = first.output
    name = served.name
    half = helper.make_tensor("blend_weight", TensorProto.FLOAT, [], [1.0 / len(protos)])
    nodes.append(helper.make_node("Sum", outs, ["blend_sum"]))
    nodes.append(helper.make_node("Mul", ["blend_sum", "blend_weight"], [name]))
    body = helper.make_graph(
        nodes,
        "blend",
        list(first.input),
        [served],
        initializer=[*initializers, half],
        value_info=value_info,
    )
    model = helper.make_model(
        body,
        opset_imports=[helper.make_opsetid(d, v) for d, v in sorted(opsets.items())],
        functions=functions,
        producer_name="factory-blend",
    )
    model.ir_version = max(p.ir_version for p in protos)
    return model


def export(model: BlendModel, path: Path, exports=None) -> Path:  # noqa: ANN001
    """Write the blend's graph to ``path`` whole or not at all (temp file, then rename)."""
    import tempfile

    import onnx

    from factory_assets.lib.packaging import write_graph
    from factory_assets.lib.training import models

    with tempfile.TemporaryDirectory() as parts_dir:
        protos = []
        for name, part, part_pre in model.parts:
            written = models.export(part, part_pre, Path(parts_dir) / f"{name}.onnx", exports)
            protos.append(onnx.load(str(written)))
    return write_graph(merged_graph(protos), path)


def check_parity(
    model: BlendModel, path: Path, cat: np.ndarray, num: np.ndarray, atol: float
) -> float:
    """Max difference between the parts' mean and onnxruntime's (relative above 1; ParityError)."""
    from factory_assets.lib.packaging import onnx_predict, parity_diff

    expected = predict_served(model, cat, num)
    return parity_diff("blend", expected, onnx_predict(path, cat, num), atol)
