"""One real ONNX export per net shape in a process; other nets' files are the bytes export writes.

Tests of one step's counters give it a store of its own: the process's (TEMPLATES) may already
hold a shape another test exported.
"""

from pathlib import Path

import torch

from factory_assets.lib.packaging import export_onnx
from factory_assets.lib.training.export_cache import (
    MISSING,
    TEMPLATES,
    OnnxExports,
    Templates,
)
from factory_assets.lib.training.tabular_module import TabularNet

N_NUM = 5


def _net(seed: int, cardinalities: list[int], hidden: int = 8) -> TabularNet:
    torch.manual_seed(seed)
    return TabularNet(cardinalities, N_NUM, [hidden], dropout=0.5).train()


def test_a_reused_graph_is_the_file_the_exporter_writes(tmp_path: Path) -> None:
    exports = OnnxExports(Templates())
    exports.export(_net(0, [4, 3]), 2, N_NUM, tmp_path / "first.onnx")
    second = _net(1, [4, 3])
    exports.export(second, 2, N_NUM, tmp_path / "reused.onnx")
    assert (exports.exported, exports.reused) == (1, 1)
    assert not second.training  # as export_onnx leaves it
    export_onnx(_net(1, [4, 3]), 2, N_NUM, tmp_path / "exported.onnx")
    reused = (tmp_path / "reused.onnx").read_bytes()
    assert reused == (tmp_path / "exported.onnx").read_bytes()
    assert reused != (tmp_path / "first.onnx").read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["exported.onnx", "first.onnx",
                                                          "reused.onnx"]  # fmt: skip


def test_another_shape_is_exported_again(tmp_path: Path) -> None:
    exports = OnnxExports(Templates())
    exports.export(_net(0, [4, 3]), 2, N_NUM, tmp_path / "a.onnx")
    exports.export(_net(0, [6, 3]), 2, N_NUM, tmp_path / "b.onnx")
    assert (exports.exported, exports.reused) == (2, 0)


def test_a_later_step_reuses_the_graph_an_earlier_step_exported(tmp_path: Path) -> None:
    shape = [5, 7]  # hidden 11: a shape no other test packages
    first = OnnxExports()  # one packaging step, as _package makes it
    first.export(_net(0, shape, hidden=11), 2, N_NUM, tmp_path / "first.onnx")
    assert (first.exported, first.reused) == (1, 0)
    second = OnnxExports()  # the next step in the same process
    second.export(_net(1, shape, hidden=11), 2, N_NUM, tmp_path / "second.onnx")
    assert (second.exported, second.reused) == (0, 1)
    export_onnx(_net(1, shape, hidden=11), 2, N_NUM, tmp_path / "exported.onnx")
    assert (tmp_path / "second.onnx").read_bytes() == (tmp_path / "exported.onnx").read_bytes()
    assert OnnxExports()._templates is TEMPLATES


def test_a_net_with_the_same_weights_and_other_layers_is_exported(tmp_path: Path) -> None:
    exports = OnnxExports(Templates())
    exports.export(_net(0, [4, 3]), 2, N_NUM, tmp_path / "a.onnx")
    other = _net(0, [4, 3])
    other.mlp[1] = torch.nn.Tanh()  # no weights: the state dict's shapes are the same
    exports.export(other, 2, N_NUM, tmp_path / "b.onnx")
    assert (exports.exported, exports.reused) == (2, 0)


def test_the_store_forgets_the_shape_used_longest_ago() -> None:
    store = Templates(limit=2)
    store.put("a", "graph a")
    store.put("b", None)  # a shape that is always exported is remembered as such
    assert store.get("a") == "graph a"  # a is now the newest
    store.put("c", "graph c")
    assert (store.get("b"), store.get("a"), store.get("c")) == (MISSING, "graph a", "graph c")
    assert len(store) == 2
