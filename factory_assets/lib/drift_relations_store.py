"""A champion's drift relations kept in the report store, fitted once for every window length.

The relations (lib/drift_relations.py) depend on the champion's reference alone, while a null is
calibrated per window length (lib/drift_window.py): they are fitted once, under a file lock, and
kept as one .npz (the models as JSON, the reference's out-of-fold residuals); a check whose null
is already calibrated reads the models alone.
"""

import fcntl
import hashlib
import io
import json
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from factory_assets.lib.files import write_atomic


def _relations_file(champion: tuple, relate: tuple, reports) -> tuple:  # noqa: ANN001
    """(The cache key, the report store's file) of a champion's relations."""
    name, version, window, run = champion
    digest = hashlib.sha1(json.dumps([list(window), relate, run]).encode()).hexdigest()[:12]
    path = reports.path(name, f"drift_relations_v{version}_{digest}.npz")
    return ("relations", name, version, digest), path


def saved_relations(ref, labels, champion, relate, reports, cache):  # noqa: ANN001, ANN201, PLR0913
    """The champion's relations without the reference's residuals: read once, or fitted.

    A check of a window whose null is already calibrated needs the models only: they are read
    from the relations file alone (not its residuals, ~30 MB for a 110k-row reference);
    without the file they are fitted and saved as ``fitted_relations`` does (``labels()``:
    the reference's periods, asked for only then).
    """
    key, path = _relations_file(champion, relate, reports)
    models = ("models", *key[1:])
    if key in cache:
        return cache[key][0]
    if models not in cache:
        try:
            with np.load(path) as saved:  # a member is read only when asked for
                cache[models] = _models(saved)
        except (OSError, ValueError, KeyError):
            return fitted_relations(ref, labels(), champion, relate, reports, cache)[0]
    return cache[models]


def fitted_relations(ref, labels, champion, relate, reports, cache) -> tuple:  # noqa: ANN001
    """``fit_relations`` of this champion's reference, fitted once for every window length.

    ``champion`` is (model name, version, reference window, MLflow run id).

    The relations depend on the reference alone, while a calibration is per window length (the
    first days of a line have windows of 1, 2, … periods): cached in ``cache`` and in the report
    store, and fitted under a file lock, so steps of one run that need it at once fit it once.
    """
    from factory_assets.lib.drift_relations import fit_relations

    key, path = _relations_file(champion, relate, reports)
    if key not in cache:
        with _locked(path):
            try:
                with np.load(path) as saved:
                    residuals = {k: saved[k] for k in saved.files if k != "relations"}
                    cache[key] = _models(saved), residuals
            except (OSError, ValueError, KeyError):
                cache[key] = fit_relations(ref, *relate, labels)
                _save_relations(path, *cache[key])
    return cache[key]


def _models(saved):  # noqa: ANN001, ANN202 (an open .npz; Relations | None)
    """The relations' models of an open relations file (None: no relation worth watching)."""
    from factory_assets.lib.drift_relations import Relations

    data = json.loads(str(saved["relations"]))
    return Relations.from_dict(data) if data else None


def _save_relations(path: Path, relations, residuals: dict) -> None:  # noqa: ANN001
    """The relations (JSON) and the reference's residuals in one .npz, whole or not at all.

    None (no relation worth watching) is saved too, as "null", so it is not fitted again.
    """
    buffer = io.BytesIO()
    text = json.dumps(relations.to_dict() if relations else None)
    np.savez(buffer, relations=np.array(text), **residuals)
    write_atomic(path, buffer.getvalue())  # under the lock: one writer at a time


@contextmanager
def _locked(path: Path):  # noqa: ANN202
    """Hold an exclusive lock on ``path``'s lock file (beside it) while the block runs."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.with_name(f".{path.name}.lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
