"""A spec's architecture fields fail loading with the file, the field and what is allowed.

The same throwaway dg project as test_model_spec.py: gbdt trains no net for a search to tune,
an architecture is one of mlp, gbdt, blend, auto, and auto lists each candidate once.
"""

import re

import pytest

from factory_assets.lib.specs.errors import SpecError
from tests.components.test_model_spec import Project, spec
from tests.components.test_model_spec import project as project  # noqa: F401, PLC0414 (fixture)

SEARCH = {"trials": 5, "space": {"lr": {"low": 0.001, "high": 0.01}}}
BAD = {
    "a search of trees": (
        {"training__architecture": "gbdt", "search": SEARCH},
        "training.architecture",
        "a search tunes the net's knobs, and architecture gbdt trains no net",
        "architecture mlp or auto",
    ),
    "an unknown architecture": (
        {"training__architecture": "xgboost"},
        "training.architecture",
        "'xgboost'",
        "mlp, gbdt, blend, auto",
    ),
    "a candidate twice": (
        {"training__architecture": "auto", "training__candidates": ["gbdt", "gbdt"]},
        "training.candidates",
        "a candidate is listed twice",
        "distinct architectures",
    ),
    "a blend without its parts": (
        {"training__architecture": "auto", "training__candidates": ["mlp", "blend"]},
        "training.candidates",
        "blend averages the mlp and gbdt candidates",
        "list mlp and gbdt with it",
    ),
}


@pytest.mark.parametrize("case", BAD)
def test_a_bad_architecture_fails_loading_naming_file_field_and_allowed(
    project: Project,  # noqa: F811
    case: str,
) -> None:
    changes, field, problem, allowed = BAD[case]
    path = project.write("churn", spec(**changes))
    with pytest.raises(SpecError) as raised:
        project.build("churn")
    first = next(line for line in str(raised.value).splitlines() if f": {field}: " in line)
    assert first.startswith(str(path)) and problem in first, first
    assert re.search(r"; allowed: .*" + re.escape(allowed), first), first


def test_auto_with_a_search_loads(project: Project) -> None:  # noqa: F811
    project.write("churn", spec(training__architecture="auto", search=SEARCH))
    defs = project.build("churn")  # the search tunes auto's mlp candidate
    model = next(a for a in defs.assets if "churn_model" in str(a.key))
    assert "architecture auto" in model.descriptions_by_key[model.key]
