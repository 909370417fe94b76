"""The code location: every file under defs/ is loaded; nothing is registered by hand."""

from pathlib import Path

import dagster as dg

_PRELOADED: list[dg.Definitions] = []  # built once by preload(), in a step forkserver only


@dg.definitions
def defs() -> dg.Definitions:
    """All definitions of the factory line, loaded from the defs/ folder."""
    if _PRELOADED:
        return _PRELOADED[0]
    return dg.load_from_defs_folder(path_within_project=Path(__file__).parent)


def preload() -> None:
    """Build the definitions now and answer every later ``defs()`` of this process with them.

    Only for the forkserver a run's step processes are forked from (``factory_assets/preload.py``):
    its children share its environment and code, so they would build the same definitions.
    """
    built = defs()
    built.get_repository_def()  # the asset graph and jobs, resolved once for every step
    _PRELOADED.append(built)
