"""The model line's in-process copy of trained nets: copies out, bounded, a miss is None."""

import torch

from factory_assets.lib.training.segment import TrainedNets, load_run_model


def _net(width: int) -> torch.nn.Module:
    return torch.nn.Linear(width, 1)


def test_a_hit_is_a_copy_of_the_net_with_its_preprocessor() -> None:
    nets, net, pre = TrainedNets(), _net(4), object()
    nets.put("run-a", net, pre)
    got, got_pre = nets.get("run-a")
    assert got is not net and got_pre is pre
    assert all(
        torch.equal(a, b)
        for a, b in zip(got.state_dict().values(), net.state_dict().values(), strict=True)
    )
    with torch.no_grad():
        got.weight.zero_()  # one station's changes never reach another's copy
    assert not torch.equal(nets.get("run-a")[0].weight, got.weight)
    assert nets.get("run-b") is None


def test_the_oldest_nets_leave_first_when_the_weights_pass_the_bound() -> None:
    size = 4 * (8 + 1)  # float32 weights and bias of Linear(8, 1)
    nets = TrainedNets(max_bytes=2 * size)
    for run in ("a", "b", "c"):
        nets.put(run, _net(8), None)
    assert nets.get("a") is None and nets.get("b") and nets.get("c") and len(nets) == 2
    nets.put("huge", _net(64), None)  # over the bound alone: not kept, nothing evicted
    assert nets.get("huge") is None and len(nets) == 2


def test_load_run_model_reads_the_copy_before_mlflow(monkeypatch) -> None:  # noqa: ANN001
    from factory_assets.lib.training import segment

    nets = TrainedNets()
    nets.put("run-a", _net(4), "pre")
    monkeypatch.setattr(segment, "TRAINED", nets)
    net, pre = load_run_model(tracking=None, run_id="run-a")  # no store: a miss would fail
    assert pre == "pre" and isinstance(net, torch.nn.Linear)


def test_a_run_saved_before_architectures_loads_as_a_net(tmp_path) -> None:  # noqa: ANN001
    from factory_assets.lib.training import models
    from factory_assets.lib.training.artifacts import save_trained
    from factory_assets.lib.training.dataset import Preprocessor
    from factory_assets.lib.training.tabular_module import TabularNet

    pre = Preprocessor(categorical=["c"], numeric=["x"], vocab={"c": ["a", "b"]})
    net = TabularNet(pre.cardinalities, pre.n_numeric, [4], 0.0)
    save_trained(net, pre, [4], 0.0, tmp_path / "old")  # no model.json: as runs before it
    loaded, _ = models.load(tmp_path / "old")
    assert models.architecture(loaded) == "mlp" and isinstance(loaded, TabularNet)
    models.save(net, pre, tmp_path / "new", [4], 0.0)
    assert (tmp_path / "new" / models.MODEL_FILE).read_text() == '{"architecture": "mlp"}'
    assert isinstance(models.load(tmp_path / "new")[0], TabularNet)
