"""A new model's spec: ``make new-model NAME=<name>`` writes ``defs/models/<name>/defs.yaml``.

The file is ``model_spec_skeleton.yaml`` with the name filled in: a commented spec that loads as
is. ``dg scaffold defs factory_assets.components.model_spec.ModelSpec models/<name>`` calls
``ModelSpecScaffolder``; tests call ``write_skeleton`` on a folder of their own.
"""

import string
from pathlib import Path

import click
import dagster as dg

from factory_assets.lib.model_line import IDENTIFIER

SKELETON = Path(__file__).with_name("model_spec_skeleton.yaml")
NAME_RULE = "lowercase letters, digits and _, starting with a letter or _ (e.g. cancellations)"


class ScaffoldError(ValueError):
    """A new model that cannot be scaffolded: a bad name, or a spec already there."""


def skeleton(name: str) -> str:
    """The commented spec of a model called ``name``."""
    if not IDENTIFIER.fullmatch(name):
        raise ScaffoldError(f"model name {name!r} is not a plain identifier; allowed: {NAME_RULE}")
    return string.Template(SKELETON.read_text()).substitute(name=name)


def write_skeleton(folder: Path) -> Path:
    """Write the spec of the model named after ``folder`` to ``folder/defs.yaml``.

    Raises:
        ScaffoldError: the folder's name is no identifier, or it already holds a spec.
    """
    target = folder / "defs.yaml"
    if target.exists() or (folder / "defs.yml").exists():
        raise ScaffoldError(f"{target}: a model spec is already there; pick another NAME")
    try:
        text = skeleton(folder.name)
    except ScaffoldError:
        if folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()  # `dg scaffold defs` made it before asking us
        raise
    folder.mkdir(parents=True, exist_ok=True)
    target.write_text(text)
    return target


class ModelSpecScaffolder(dg.Scaffolder):
    """``dg scaffold defs ...ModelSpec models/<name>``: the commented skeleton, in YAML."""

    def scaffold(self, request: dg.ScaffoldRequest) -> None:
        """Write the skeleton into the requested folder; a refusal is one line, no traceback."""
        try:
            if request.scaffold_format != "yaml":
                raise ScaffoldError("a model spec is YAML only; drop --format python")
            path = write_skeleton(request.target_path)
        except ScaffoldError as err:
            raise click.ClickException(str(err)) from None  # dg prints "Error: <message>"
        click.echo(f"Wrote {path}: edit the lines marked `change me`.")
