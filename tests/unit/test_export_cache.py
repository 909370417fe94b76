"""One real ONNX export per net shape; the other nets' files are the same bytes export writes."""

from pathlib import Path

import torch

from factory_assets.lib.packaging import export_onnx
from factory_assets.lib.training.export_cache import OnnxExports
from factory_assets.lib.training.flights_module import FlightDelayNet

N_NUM = 5


def _net(seed: int, cardinalities: list[int]) -> FlightDelayNet:
    torch.manual_seed(seed)
    return FlightDelayNet(cardinalities, N_NUM, [8], dropout=0.5).train()


def test_a_reused_graph_is_the_file_the_exporter_writes(tmp_path: Path) -> None:
    exports = OnnxExports()
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
    exports = OnnxExports()
    exports.export(_net(0, [4, 3]), 2, N_NUM, tmp_path / "a.onnx")
    exports.export(_net(0, [6, 3]), 2, N_NUM, tmp_path / "b.onnx")
    assert (exports.exported, exports.reused) == (2, 0)
