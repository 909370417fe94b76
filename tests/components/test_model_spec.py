"""A model spec loads into its whole line, or fails with one message: file, field, allowed.

Each spec is written into the defs folder of a throwaway dg project (tmp_path) and loaded by
Dagster's own component tree, as a code location would; the repository's defs are not touched.
"""

import re
import subprocess
import sys
import uuid
from pathlib import Path

import dagster as dg
import pytest
import yaml

from factory_assets.components.model_spec_scaffold import ScaffoldError, skeleton, write_skeleton
from factory_assets.defs.features.flight_features import flight_features
from factory_assets.defs.resources import resources
from factory_assets.lib.specs.errors import SpecError

TYPE = "factory_assets.components.model_spec.ModelSpec"
DROP = object()  # a change that removes the field


class Project:
    """A dg project in a temporary folder: pyproject.toml and a package with a defs folder."""

    def __init__(self, root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.root = root
        self.package = f"specs_{uuid.uuid4().hex[:10]}"  # a fresh module name per test
        (root / "pyproject.toml").write_text(
            f'[tool.dg]\ndirectory_type = "project"\n\n[tool.dg.project]\n'
            f'root_module = "{self.package}"\n'
        )
        self.defs = root / self.package / "defs"
        self.defs.mkdir(parents=True)
        (root / self.package / "__init__.py").touch()
        (root / self.package / "definitions.py").write_text(
            "from pathlib import Path\n\nimport dagster as dg\n\n\n@dg.definitions\n"
            "def defs():\n    return dg.load_from_defs_folder(path_within_project=Path(__file__))\n"
        )
        monkeypatch.syspath_prepend(str(root))

    def write(self, name: str, attributes: dict) -> Path:
        """``defs/models/<name>/defs.yaml`` with these attributes."""
        path = self.defs / "models" / name / "defs.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump({"type": TYPE, "attributes": attributes}, sort_keys=False))
        return path

    def build(self, name: str) -> dg.Definitions:
        """The definitions of one model, built by the component tree of the project."""
        return dg.ComponentTree.for_project(self.root).build_defs_at_path(f"models/{name}")

    def load(self) -> dg.Definitions:
        """The project's definitions with what a model line needs from the repository's: the
        resources and the feature table its retrain job rebuilds.
        """
        return dg.Definitions.merge(
            dg.load_from_defs_folder(path_within_project=self.defs),
            resources(),
            dg.Definitions(assets=[flight_features]),
        )


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Project:
    return Project(tmp_path, monkeypatch)


def spec(name: str = "churn", **changes: object) -> dict:
    """The skeleton's attributes for ``name``, with ``changes`` (``data__label`` = data.label)."""
    attributes = yaml.safe_load(skeleton(name))["attributes"]
    for dotted, value in changes.items():
        *parents, leaf = dotted.split("__")
        node = attributes
        for part in parents:
            node = node.setdefault(part, {})
        if value is DROP:
            del node[leaf]
        else:
            node[leaf] = value
    return attributes


IDENTIFIER_RULE = "no quotes, semicolons or spaces"
BAD_SPECS = {
    # case: (changes, field named, words of the problem, words of what is allowed)
    "unknown feature asset": (
        {"data__features": "feat_nowhere"},
        "data.features",
        "no table or asset 'feat_nowhere'",
        "flight_features",
    ),
    "unknown column": (
        {"data__numeric": ["sched_hour", "sched_weekday", "wingspan_m"]},
        "data.numeric[2]",
        "'wingspan_m' is not a column of flight_features",
        "distance_mi",
    ),
    "unknown label column": (
        {"data__label": "is_very_late"},
        "data.label",
        "'is_very_late' is not a column of fct_flights",
        "is_late",
    ),
    "missing label": ({"data__label": DROP}, "data.label", "missing", "a string"),
    "misspelt field": (
        {"data__lables": "is_late", "data__label": DROP},
        "data.lables",
        "unknown field",
        "label, label_lag, labels_from",
    ),
    "wrong type": (
        {"training__max_epochs": "many"},
        "training.max_epochs",
        "'many' is invalid",
        "an integer",
    ),
    "unknown choice": (
        {"monitoring__drift__html_report": "sometimes"},
        "monitoring.drift.html_report",
        "'sometimes' is invalid",
        "always, drifted, never",
    ),
    "impossible threshold": (
        {"monitoring__drift__column_threshold": 1.5},
        "monitoring.drift.column_threshold",
        "1.5 is impossible",
        "0.0 … 1.0",
    ),
    "gate metric of another task": (
        {"gate__metric": "rmse"},
        "gate.metric",
        "'rmse' is no binary metric",
        "auc, brier, log_loss",
    ),
    "impossible drift share": (
        {"monitoring__drift__max_drifted_share": -0.1},
        "monitoring.drift.max_drifted_share",
        "-0.1 is impossible",
        "0.0 … 1.0",
    ),
    "identifier with a quote": (
        {"data__key": "flight_id'"},
        "data.key",
        "not a plain identifier",
        IDENTIFIER_RULE,
    ),
    "identifier with a semicolon": (
        {"data__label": "is_late; drop table x"},
        "data.label",
        "not a plain identifier",
        IDENTIFIER_RULE,
    ),
    "identifier with a space": (
        {"data__features": "flight features"},
        "data.features",
        "not a plain identifier",
        IDENTIFIER_RULE,
    ),
    "bad search space": (
        {"search": {"trials": 5, "space": {"momentum": {"low": 0.1, "high": 0.9}}}},
        "search.space",
        "momentum",
        "batch_size, dropout, hidden, lr, max_epochs, weight_decay",
    ),
    "bad search range": (
        {"search": {"trials": 5, "space": {"lr": {"low": 0.1, "high": 0.01}}}},
        "search.space",
        "field 'low' (0.1) must be less than field 'high' (0.01)",
        "low < high",
    ),
    "bad cron": (
        {"schedule": {"cron": "every morning"}},
        "schedule.cron",
        "'every morning' is not a cron string",
        "five fields",
    ),
    "segments falling back on themselves": (
        {"segments": {"column": "origin", "values": ["EWR", "JFK"], "fallback": "churn"}},
        "segments.fallback",
        "cannot fall back on itself",
        "another model",
    ),
    "segments with a bad fallback name": (
        {"segments": {"column": "origin", "values": ["EWR", "JFK"], "fallback": "flights;"}},
        "segments.fallback",
        "not a plain identifier",
        IDENTIFIER_RULE,
    ),
    "segments without a fallback": (
        {"segments": {"column": "origin", "values": ["EWR", "JFK"]}},
        "segments.fallback",
        "missing",
        "a string",
    ),
    "online input that is no input": (
        {"online__request": ["sched_hour", "wingspan_m"]},
        "online.request[1]",
        "'wingspan_m' is not an input",
        "sched_hour",
    ),
    "unregistered online function": (
        {"online__function": "teleport"},
        "online.function",
        "no feature function 'teleport' is registered",
        "flights",
    ),
    "dates the wrong way round": (
        {"training__train_end": "2012-12-31"},
        "training.train_end",
        "ends before training.train_start",
        "end >= start",
    ),
}


@pytest.mark.parametrize("case", BAD_SPECS)
def test_a_bad_spec_fails_loading_naming_file_field_and_allowed(
    project: Project, case: str
) -> None:
    changes, field, problem, allowed = BAD_SPECS[case]
    path = project.write("churn", spec(**changes))
    with pytest.raises(SpecError) as raised:
        project.build("churn")
    message = str(raised.value)
    first = next(line for line in message.splitlines() if f": {field}: " in line)
    assert first.startswith(str(path)), message
    assert problem in first, message
    assert re.search(r"; allowed: .*" + re.escape(allowed), first), message


def test_schema_errors_are_one_line_each_with_the_line_number(project: Project) -> None:
    path = project.write(
        "churn", spec(data__lables="is_late", data__label=DROP, training__max_epochs="many")
    )
    with pytest.raises(SpecError) as raised:
        project.build("churn")
    lines = str(raised.value).splitlines()
    assert [line.split(": ")[1] for line in lines] == [
        "data.label",
        "data.lables",
        "training.max_epochs",
    ]
    for line in lines:
        assert re.match(re.escape(str(path)) + r":\d+: ", line), line
        assert "; allowed: " in line
    assert "DataSpec" not in str(raised.value) and ".str" not in str(raised.value)


def test_loading_the_whole_project_raises_the_spec_error_itself(project: Project) -> None:
    # Not Dagster's component-tree wrapper: the message is the exception's own.
    path = project.write("churn", spec(monitoring__drift__column_threshold=1.5))
    match = "monitoring.drift.column_threshold: 1.5 is impossible; allowed: 0.0 … 1.0"
    with pytest.raises(SpecError, match=match):
        dg.load_from_defs_folder(path_within_project=project.defs)
    assert path.exists()


def test_a_failed_load_prints_the_message_last(project: Project) -> None:
    path = project.write("churn", spec(data__label="is_late; drop table x"))
    probe = f"from {project.package}.definitions import defs; defs()"
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=project.root, capture_output=True, text=True
    )
    assert out.returncode == 1
    last = out.stderr.strip().splitlines()[-1]
    assert re.fullmatch(
        re.escape(f"factory_assets.components.spec_loading.BadSpec: {path}:")
        + r"\d+"
        + re.escape(
            ": data.label: 'is_late; drop table x' is not a plain identifier; allowed: lowercase "
            "letters, digits and _, starting with a letter or _ (no quotes, semicolons or spaces)"
        ),
        last,
    ), last


def test_a_second_spec_builds_its_whole_line(project: Project) -> None:
    search = {"trials": 3, "space": {"lr": {"low": 0.001, "high": 0.01, "log": True}}}
    project.write("churn", spec(search=search, schedule={"cron": "0 6 * * *"}))
    defs = project.load()
    assets = {key.to_user_string() for key in defs.resolve_asset_graph().get_all_asset_keys()}
    stations = ["model", "evaluation", "package", "predictions", "drift_report"]
    assert {f"churn_{s}" for s in [*stations, "prediction_performance"]} <= assets
    assert {s.name for s in defs.sensors} == {"churn_retrain_sensor", "churn_promotion_sensor"}
    assert {j.name for j in defs.jobs} >= {"retrain_churn", "rescore_churn", "churn_scoring"}
    assert {s.name for s in defs.schedules} == {"churn_schedule"}
    checks = defs.resolve_asset_graph().asset_check_keys
    assert {c.asset_key.to_user_string() for c in checks} >= {
        "churn_drift_report",
        "churn_prediction_performance",
    }


def test_two_models_load_side_by_side(project: Project) -> None:
    flights = Path(__file__).resolve().parents[2] / "factory_assets/defs/models/flights/defs.yaml"
    (project.defs / "models" / "flights").mkdir(parents=True)
    (project.defs / "models" / "flights" / "defs.yaml").write_text(flights.read_text())
    project.write("churn", spec())
    defs = project.load()
    dg.Definitions.validate_loadable(defs)
    keys = {k.to_user_string() for k in defs.resolve_asset_graph().get_all_asset_keys()}
    assert {"flights_model", "flight_predictions", "churn_model", "churn_predictions"} <= keys


def test_the_new_model_skeleton_loads_as_written(project: Project) -> None:
    path = write_skeleton(project.defs / "models" / "cancellations")
    assert path.read_text().count("# change me") >= 5
    defs = project.load()
    dg.Definitions.validate_loadable(defs)
    assert dg.AssetKey("cancellations_model") in defs.resolve_asset_graph().get_all_asset_keys()


def test_dg_scaffold_defs_writes_the_skeleton() -> None:
    # What `make new-model NAME=cancellations` runs: dg scaffold defs <ModelSpec> models/<name>
    # (dagster's public sandbox scaffolds through the same scaffolder the CLI calls)
    from dagster.components.testing import create_defs_folder_sandbox

    from factory_assets.components.model_spec import ModelSpec

    with create_defs_folder_sandbox() as sandbox:
        folder = sandbox.scaffold_component(ModelSpec, defs_path="models/cancellations")
        assert (folder / "defs.yaml").read_text() == skeleton("cancellations")


@pytest.mark.parametrize("name", ["Cancellations", "cancel-lations", "cancel lations", "x;y", "9x"])
def test_the_skeleton_refuses_a_bad_name(tmp_path: Path, name: str) -> None:
    with pytest.raises(ScaffoldError, match="is not a plain identifier; allowed: lowercase"):
        write_skeleton(tmp_path / name)
    assert not (tmp_path / name).exists()


def test_the_skeleton_never_overwrites_a_model(tmp_path: Path) -> None:
    path = write_skeleton(tmp_path / "cancellations")
    path.write_text("edited")
    with pytest.raises(ScaffoldError, match="already there"):
        write_skeleton(tmp_path / "cancellations")
    assert path.read_text() == "edited"
