"""The model stations' results (run ids, metrics, windows) as JSON, one file per partition.

A per-segment model trains many segments in one run; Dagster's default IO manager stores one
object per output, so this one takes a dict keyed by partition and writes each entry whole.
"""

import json
import os
import tempfile
from pathlib import Path

import dagster as dg


class ModelResults(dg.ConfigurableIOManager):
    """JSON results under ``root/<asset>/<partition>.json`` (``_.json`` when unpartitioned)."""

    root: str

    def _path(self, key: dg.AssetKey, partition: str | None) -> Path:
        return Path(self.root, *key.path, f"{partition or '_'}.json")

    def _write(self, path: Path, value: object) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False) as out:
            json.dump(value, out, sort_keys=True)
        os.replace(out.name, path)  # whole or not at all

    def _read(self, path: Path) -> object:
        if not path.exists():
            raise dg.Failure(f"{path} is missing: materialize the upstream station first")
        return json.loads(path.read_text())

    def handle_output(self, context: dg.OutputContext, obj: object) -> None:
        """Write the result; a partitioned output is a dict keyed by partition."""
        if context.has_asset_partitions:
            for partition in context.asset_partition_keys:
                self._write(self._path(context.asset_key, partition), obj[partition])
        else:
            self._write(self._path(context.asset_key, None), obj)

    def load_input(self, context: dg.InputContext) -> object:
        """The result; for partitions, a dict keyed by partition."""
        key = context.upstream_output.asset_key if context.upstream_output else context.asset_key
        if context.has_asset_partitions:
            return {p: self._read(self._path(key, p)) for p in context.asset_partition_keys}
        return self._read(self._path(key, None))
