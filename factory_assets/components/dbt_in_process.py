"""dbt run in the step's own process: no interpreter start and no re-parse for each build.

dagster-dbt's ``DbtCliResource.cli`` starts ``dbt`` as a subprocess. Before a model runs, that
costs ~2.5 s of imports and ~1 s of partial parsing: a weekly batch's dbt step took 7.6 s, of
which dbt's own node work was 1.7 s. Here the same command runs through dbt's programmatic entry
point, ``dbtRunner`` (docs.getdbt.com/reference/programmatic-invocations). The manifest is parsed
once per process and reused until a project file, the profile or the environment changes.

The parse sees one fixed lake (``PARSE_LAKE``), not the real one: dbt keeps the manifest of its
last parse for a partial parse, and drops it when the profile's connection (the lake's catalog
among it) changes, so each temporary or per-deployment warehouse cost a full parse (2.5 s idle,
10-20 s on a busy machine) in every step process. The manifest does not depend on where the lake
is (its tables are always ``"warehouse"."main".x``); the build attaches the real one.
dbt's structured events go through dagster-dbt's own ``DbtCoreCliEventMessage``, so the step
yields the same Output and AssetCheckResult events as the subprocess path.

dbtRunner does not support concurrent invocations in one process: a lock serialises them (the
steps of one process run one after another anyway). ``FACTORY_DBT_SUBPROCESS=1`` uses the
subprocess path, and so does a selection too large for command-line flags (dagster-dbt then
writes a selector into a temporary copy of the project).
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import threading
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg
from dagster_dbt import DbtCliResource

from factory_assets.lib.files import project_files
from factory_assets.private_api import (
    dbt_asset_events,
    dbt_event_dict,
    dbt_selection,
    release_duckdb,
)
from factory_assets.settings import lake_variables, settings

# dagster-dbt's name for one invocation's target folder: <op>-<run id[:7]>-<uuid[:7]>, or the
# uuid part alone outside a run. The subprocess path and ours use it.
_INVOCATION_FOLDER = re.compile(r"(?:\w+-[0-9a-f]{7}-)?[0-9a-f]{7}")
PROJECT_FILES = ("*.sql", "*.yml", "*.yaml", "*.csv", "*.md")
_LOCK = threading.Lock()
_MANIFESTS: dict[str, object] = {}  # fingerprint -> dbt Manifest
PARSE_LAKE = ("sqlite:warehouse.sqlite", "warehouse.sqlite.files/")  # what every parse sees


def prune_targets(target: Path, keep: int | None = None) -> list[Path]:
    """Remove all but the newest ``keep`` invocation folders in dbt's ``target``; the removed.

    Each dbt build (either path) leaves its compiled SQL, run results and log in a folder of
    its own, ~3 MB: a year of daily runs would keep a gigabyte. ``keep`` defaults to
    FACTORY_DBT_KEEP_TARGETS (20); the newest folders, an unfinished build's among them, stay.
    """
    keep = settings().dbt_keep_targets if keep is None else keep
    if not target.is_dir():
        return []
    folders = [f for f in target.iterdir() if f.is_dir() and _INVOCATION_FOLDER.fullmatch(f.name)]
    folders.sort(key=lambda f: f.stat().st_mtime_ns, reverse=True)
    removed = folders[max(keep, 0) :]
    for folder in removed:
        shutil.rmtree(folder, ignore_errors=True)
    return removed


def in_process_enabled() -> bool:
    """Whether dbt runs in process (the default) or as dagster-dbt's subprocess."""
    return not settings().dbt_subprocess


@dataclass
class InProcessInvocation:
    """A finished in-process dbt command; the parts of ``DbtCliInvocation`` the step uses."""

    args: list[str]
    raw_events: list[dict]
    success: bool
    exception: BaseException | None
    target_path: Path
    _to_events: object = field(default=None, repr=False)

    def stream(self) -> Iterator:
        """Dagster events (Output, AssetCheckResult, ...) of dbt's result events, in order."""
        yield from self._to_events(self.raw_events)

    def is_successful(self) -> bool:
        """Whether dbt finished and reported no error."""
        return self.success and not self.error_messages

    @property
    def error_messages(self) -> list[str]:
        """The messages of dbt's error-level events."""
        return [e["info"]["msg"] for e in self.raw_events if e["info"].get("level") == "error"]

    def get_error(self) -> Exception | None:
        """The failure to raise, naming dbt's errors; None when the command succeeded."""
        if self.is_successful():
            return None
        detail = "\n".join(self.error_messages) or repr(self.exception)
        return dg.Failure(
            description=f"dbt {' '.join(self.args)} failed in process:\n{detail}",
            metadata={"target_path": str(self.target_path)},
        )


def _fingerprint(project_dir: Path, argv: Sequence[str]) -> str:
    """Changes when a project file, the profile, the arguments or the environment change."""
    digest = hashlib.sha256()
    for path in project_files(project_dir, PROJECT_FILES, skip=("target", "logs", "dbt_packages")):
        stat = path.stat()
        digest.update(f"{path}:{stat.st_mtime_ns}:{stat.st_size}\n".encode())
    digest.update(repr(list(argv)).encode())
    digest.update(repr(sorted(os.environ.items())).encode())
    return digest.hexdigest()


@contextmanager
def _parse_warehouse() -> Iterator[None]:
    """FACTORY_WAREHOUSE and FACTORY_WAREHOUSE_DATA fixed while dbt parses.

    Every lake then parses alike: dbt's partial parse (across processes) and the manifests
    cached here (in one) serve them all, wherever their catalogs and files are; the build
    itself attaches the real lake (dbtRunner reads the profile again for each command).
    """
    with lake_variables(*PARSE_LAKE):
        yield


def _manifest(project_args: list[str], project_dir: Path):  # noqa: ANN202
    """The parsed project, once per fingerprint (a partial parse from the project's target)."""
    from dbt.cli.main import dbtRunner

    with _parse_warehouse():
        key = _fingerprint(project_dir, project_args)
        if key not in _MANIFESTS:
            # no manifest.json: the definitions' prepared one stays as it is (no torn reads)
            parse = ["parse", "--quiet", "--no-write-json", *project_args]
            result = dbtRunner().invoke(parse)
            if not result.success:
                raise dg.Failure(f"dbt parse failed in process: {result.exception}")
            _MANIFESTS.clear()  # one project state per process is enough
            _MANIFESTS[key] = result.result
    return _MANIFESTS[key]


def run(
    context: dg.AssetExecutionContext, dbt: DbtCliResource, args: Sequence[str]
) -> InProcessInvocation | None:
    """Run ``dbt <args>`` for the step's selection in process; None: use the subprocess path."""
    from dbt.cli.main import dbtRunner

    if not in_process_enabled():
        return None
    cleaned, params = dbt_selection(context, args)
    project_dir = Path(dbt.project_dir).resolve()
    if params.dbt_project and Path(params.dbt_project.project_dir).resolve() != project_dir:
        return None  # a generated selector in a temporary copy of the project
    name = f"{context.op_execution_context.op.name}-{context.run.run_id[:7]}-{uuid.uuid4().hex[:7]}"
    target_path = project_dir / "target" / name
    project_args = ["--project-dir", str(project_dir)]
    project_args += ["--profiles-dir", str(dbt.profiles_dir or project_dir)]
    project_args += ["--profile", dbt.profile] if dbt.profile else []
    project_args += ["--target", dbt.target] if dbt.target else []
    paths = ["--target-path", str(target_path), "--log-path", str(target_path)]
    indirect = ["--indirect-selection", params.indirect_selection]
    argv = [
        *dbt.global_config_flags,
        *cleaned,
        *project_args,
        *paths,
        *(indirect if params.indirect_selection else []),
        *params.selection_args,
    ]
    raw_events: list[dict] = []
    with _LOCK:
        manifest = _manifest(project_args, project_dir)
        collect = lambda m: raw_events.append(dbt_event_dict(m))  # noqa: E731
        runner = dbtRunner(manifest=manifest, callbacks=[collect])
        try:
            result = runner.invoke(argv)
        finally:
            release_duckdb()  # its catalog connection closed: nothing held between steps
    context.log.info(f"dbt {' '.join(argv)} (in process)")

    def to_events(events: list[dict]) -> Iterator:
        for raw in events:
            yield from dbt_asset_events(raw, params, context, target_path)

    return InProcessInvocation(
        args=argv,
        raw_events=raw_events,
        success=bool(result.success),
        exception=result.exception,
        target_path=target_path,
        _to_events=to_events,
    )
