"""``factory training-set <model> <version>``: a registered version's rows, from its lake snapshot.

The rows come from the lake snapshot the version recorded (``lake_snapshot``; the holdout's
``lake_snapshot_evaluation``), not from today's tables: what landed since changes nothing. The
command recomputes the content hash of the training and validation rows and says whether it
matches the version's ``data_version``; it exits 1 when it does not.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from factory_assets.lib.training_sets import SPLITS


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Add the ``training-set`` command to the ``factory`` command's subparsers."""
    parser = sub.add_parser(
        "training-set",
        help="export a registered version's rows from the lake snapshot it recorded",
    )
    parser.add_argument("model", help="the registered model, e.g. flights or ridership-austin")
    parser.add_argument("version", help="its version number")
    parser.add_argument(
        "--split",
        choices=SPLITS,
        default="training",
        help="training (default): the training and validation rows the content hash covers; "
        "train, val or holdout alone; all: every split, named in a _split column",
    )
    parser.add_argument("--out", type=Path, help="a Parquet file (default: none, counts only)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Export the rows and compare the content hash; 0 when it matches the recorded one."""
    from factory_assets.defs.resources import resources
    from factory_assets.lib import training_sets as ts
    from factory_assets.settings import settings

    tracking = resources().resources["tracking"].process_config_and_initialize()
    client = tracking.registry().client
    version = client.get_model_version(args.model, args.version)
    params = client.get_run(version.run_id).data.params
    try:
        recorded = ts.Recorded.of(version.tags, params)
    except ts.NotRecorded as err:
        raise SystemExit(f"{args.model} version {args.version}: {err}") from err
    line, lake = _line(args.model), settings().lake()
    rows = ts.training_rows(lake, line, recorded)
    content = ts.content_hash(rows, line, recorded)
    held = f", holdout rows at {recorded.evaluation_snapshot}" if recorded.holdout else ""
    print(
        f"{args.model} version {args.version}: training rows at lake snapshot "
        f"{recorded.snapshot}{held}"
    )
    exported = rows
    if args.split != "training":
        exported = ts.export_rows(lake, line, recorded, args.split)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        exported.write_parquet(args.out)
        print(f"wrote {exported.height} rows ({args.split}) to {args.out}")
    else:
        print(f"{exported.height} rows ({args.split}); --out writes them to a Parquet file")
    same = content == recorded.data_version
    verdict = "matches" if same else "DIFFERS from"
    print(f"content hash {content} {verdict} the version's data_version {recorded.data_version}")
    return 0 if same else 1


def _line(registered: str):  # noqa: ANN202 (a ModelLine)
    """The line of the shipped spec that owns the registered model ``registered``."""
    from factory_assets.specs import shipped_lines

    lines = shipped_lines()
    owner = next((line for line in lines.values() if line.owns(registered)), None)
    if owner is None:
        raise SystemExit(f"no model spec owns {registered!r}; models: {', '.join(sorted(lines))}")
    return owner
