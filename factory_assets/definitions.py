"""The code location: every file under defs/ is loaded; nothing is registered by hand."""

from pathlib import Path

import dagster as dg


@dg.definitions
def defs() -> dg.Definitions:
    """All definitions of the factory line, loaded from the defs/ folder."""
    return dg.load_from_defs_folder(path_within_project=Path(__file__).parent)
