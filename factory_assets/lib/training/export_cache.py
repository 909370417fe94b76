"""ONNX files of many nets of one shape: the exporter traces the first, the others reuse its graph.

torch's dynamo exporter spends about 0.7 s a net here (torch.export, decompositions, and its
registry of ONNX functions, rebuilt on every call); a per-segment model packages hundreds of
nets that differ in their weights only. The exported graph depends on the net's shape, not on
its weights, so once a shape has been exported, another net of that shape is written as the
same graph with its own weights as the initializers: byte for byte the file the exporter writes
(the shape includes the task's head, and a regression head's label mean and std are weights)
(tests/unit/test_export_cache.py). A shape whose weights are not all initializers (folded into
constants) is exported every time.

The graphs are kept for the process (``TEMPLATES``, the ``MAX_SHAPES`` shapes used last), not
for one step: the year replay and ``dagster dev`` run many retrains in one process, and each
would otherwise trace its shape again. Steps may run in threads, so the store takes a lock.
"""

import os
import threading
from collections import OrderedDict
from pathlib import Path

MAX_SHAPES = 64
MISSING = object()


def _shape(net, n_cat: int, n_num: int) -> tuple:  # noqa: ANN001 (a ServingNet)
    weights = tuple((k, tuple(v.shape), str(v.dtype)) for k, v in net.state_dict().items())
    # the repr names the layers and their settings (dropout, activation) that hold no weights,
    # and the head's task: in a process-wide store, two models' nets may share weight shapes
    # and differ there
    return n_cat, n_num, repr(net), weights


def _template(path: Path, net):  # noqa: ANN001, ANN202 (ServingNet -> ModelProto | None)
    """The exported model, if every weight of ``net`` is an initializer of the same shape."""
    import onnx

    model = onnx.load(str(path))
    dims = {i.name: tuple(i.dims) for i in model.graph.initializer}
    weights = {k: tuple(v.shape) for k, v in net.state_dict().items()}
    return model if all(dims.get(name) == shape for name, shape in weights.items()) else None


class Templates:
    """Exported graphs by net shape, the ``limit`` used last; safe to share between threads."""

    def __init__(self, limit: int = MAX_SHAPES) -> None:
        self.limit = limit
        self._graphs: OrderedDict[tuple, object] = OrderedDict()  # None: always export
        self._lock = threading.Lock()

    def get(self, key: tuple) -> object:
        """The graph of shape ``key``, None if that shape is always exported, else MISSING."""
        with self._lock:
            if key not in self._graphs:
                return MISSING
            self._graphs.move_to_end(key)
            return self._graphs[key]

    def put(self, key: tuple, graph: object) -> None:
        """Keep ``graph`` for shape ``key``; past the limit, forget the shape used longest ago."""
        with self._lock:
            self._graphs[key] = graph
            self._graphs.move_to_end(key)
            while len(self._graphs) > self.limit:
                self._graphs.popitem(last=False)

    def __len__(self) -> int:
        with self._lock:
            return len(self._graphs)


TEMPLATES = Templates()  # the process's: a later step reuses what an earlier one exported


class OnnxExports:
    """``export_onnx`` for one step's nets: a real export per shape not yet seen in the process.

    ``exported`` and ``reused`` count this step's files only, whichever step filled the store.
    """

    def __init__(self, templates: Templates = TEMPLATES) -> None:
        self._templates = templates
        self.exported = self.reused = 0

    def export(self, net, n_cat: int, n_num: int, path: Path, preprocessor=None) -> Path:  # noqa: ANN001
        """Write ``net`` to ``path`` as ``packaging.export_onnx`` would; puts it in eval mode.

        ``preprocessor`` gives the task's head, as for ``export_onnx`` (none: binary).
        """
        from factory_assets.lib.packaging import export_onnx, served_net

        served = served_net(net, preprocessor)
        key = _shape(served, n_cat, n_num)
        template = self._templates.get(key)
        if template is None or template is MISSING:
            export_onnx(served, n_cat, n_num, path)
            self.exported += 1
            if template is MISSING:
                self._templates.put(key, _template(Path(path), served))
            return Path(path)
        self._write(template, served, Path(path))
        self.reused += 1
        return Path(path)

    @staticmethod
    def _write(template, net, path: Path) -> None:  # noqa: ANN001
        import onnx
        from onnx import numpy_helper

        model = onnx.ModelProto()
        model.CopyFrom(template)
        weights = net.state_dict()  # a ServingNet's: names as the exported initializers
        for initializer in model.graph.initializer:
            key = initializer.name
            if key in weights:
                array = weights[key].detach().cpu().numpy()
                initializer.CopyFrom(numpy_helper.from_array(array, initializer.name))
        tmp = path.with_name(f".{path.stem}.{os.getpid()}.partial.onnx")
        try:
            tmp.write_bytes(model.SerializeToString())
            onnx.checker.check_model(str(tmp))
            os.replace(tmp, path)  # whole or nothing, as export_onnx
        finally:
            tmp.unlink(missing_ok=True)
