"""dbt's parse in a fresh step process with a fresh warehouse folder: the real lake or a fixed one.

Every dbt step process parses the project once before it builds (components/dbt_in_process.py).
A backfill, the Postgres tier and the tests start many such processes, each with the warehouse
(a DuckLake: catalog and data path) in a folder of its own (a temporary folder, a deployment's
volume). When the parse saw the lake's real catalog and data path, dbt's partial parse found the
profile changed and parsed the whole project again; now it sees one fixed lake
(``dbt_in_process.PARSE_LAKE``), and the saved parse serves. Each sample is one
new Python process with a new warehouse folder; the time is the parse alone (the imports are
outside it). The same process then parses for a second warehouse in another folder, as a test
session or a replay does: recorded on its own (``warm_process_*``). Each side parses its own
copy of the project, so neither side's saved parse disturbs the other's; both manifests must
name the same relations before anything is written.
"""

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks.common import timed_pair, write_result

NAME = "dbt_parse"
REPEATS = 5
GOAL = 1.5  # full-path parse seconds / file-name parse seconds
PROJECT = Path(__file__).resolve().parents[1] / "dbt_project"

# One step process: parse the project as the old code did (the real lake in the profile, as
# the dbt step sets it) or through dbt_in_process._manifest; print the seconds and the relations.
_STEP = """
import json, os, sys, time
from pathlib import Path
from dbt.cli.main import dbtRunner
from factory_assets.components import dbt_in_process
from factory_assets.lib.lake import Lake
project, full_path = Path(sys.argv[1]), sys.argv[2] == "full"
args = ["--project-dir", str(project), "--profiles-dir", str(project)]
seconds = []
for warehouse in sys.argv[3:]:  # the first in a fresh process, the next in a warm one
    lake = Lake.parse(warehouse)
    os.environ["FACTORY_WAREHOUSE"] = lake.url.removeprefix("ducklake:")
    os.environ["FACTORY_WAREHOUSE_DATA"] = lake.data_path
    start = time.perf_counter()
    if full_path:
        result = dbtRunner().invoke(["parse", "--quiet", *args])
        assert result.success, result.exception
        manifest = result.result
    else:
        manifest = dbt_in_process._manifest(args, project)
    seconds.append(time.perf_counter() - start)
relations = sorted(n.relation_name or "" for n in manifest.nodes.values())
print(json.dumps({"seconds": seconds, "relations": relations}))
"""


def _step(project: Path, full_path: bool) -> dict:
    """One fresh process parsing ``project`` for two warehouses, each in a new folder."""
    with tempfile.TemporaryDirectory(prefix="dbt_parse_wh_") as folder:
        warehouses = [str(Path(folder) / str(i) / "warehouse.sqlite") for i in range(2)]
        out = subprocess.run(
            [sys.executable, "-c", _STEP, str(project), "full" if full_path else "name"]
            + warehouses,
            capture_output=True,
            text=True,
            check=True,
        )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    """Time both sides in alternation, check their relations agree, write the result."""
    with tempfile.TemporaryDirectory(prefix="dbt_parse_") as tmp:
        projects = []
        for side in ("full", "name"):
            copy = Path(tmp) / side
            shutil.copytree(PROJECT, copy, ignore=shutil.ignore_patterns("target", "logs"))
            projects.append(copy)
        samples: dict[bool, list[dict]] = {True: [], False: []}

        def side(full_path: bool):  # noqa: ANN202
            def parse() -> float:
                sample = _step(projects[0 if full_path else 1], full_path)
                samples[full_path].append(sample)
                return sample["seconds"]

            return parse

        timed_pair(side(True), side(False), REPEATS)  # process times; the parse's are inside
        full = [s["seconds"][0] for s in samples[True][1:]]
        name = [s["seconds"][0] for s in samples[False][1:]]
        warm = {side: [s["seconds"][1] for s in samples[side][1:]] for side in (True, False)}
        relations = samples[True][-1]["relations"]
        if relations != samples[False][-1]["relations"]:
            raise AssertionError("the two parses name different relations; nothing written")
        record = write_result(
            NAME,
            "dbt parse with the lake's real catalog and data path in the profile (before)",
            "dbt_in_process._manifest: the parse sees one fixed lake (PARSE_LAKE)",
            full,
            name,
            GOAL,
            len(relations),
            {
                "warm_process_full_path_s": warm[True],
                "warm_process_file_name_s": warm[False],
                "load_average": os.getloadavg(),
                "goal_text": f"real-lake parse / fixed-lake parse >= {GOAL} in a new step process",
            },
        )
    print(
        f"{NAME}: full path {record['baseline_s']:.2f}s, file name {record['candidate_s']:.2f}s,"
        f" ratio {record['ratio']:.2f}; a second warehouse in the same process: full path "
        f"{statistics.median(record['warm_process_full_path_s']):.2f}s, file name "
        f"{statistics.median(record['warm_process_file_name_s']):.3f}s (goal >= {GOAL}: "
        f"{'met' if record['goal_met'] else 'NOT met'}; load {os.getloadavg()[0]:.2f})"
    )


if __name__ == "__main__":
    main()
