"""A label that does not fit its task fails loading: one line naming file, field and allowed.

What the label column's dbt .yml declares (its ``data_type``, its ``accepted_values`` test)
decides: binary takes a boolean or two values, regression a number, multiclass the classes of
``data.classes``. Each spec loads in a throwaway dg project, as in test_model_spec.py.
"""

import re

import dagster as dg
import pytest

from factory_assets.lib.specs.errors import SpecError
from tests.components.test_model_spec import DROP, Project, spec

BAD_LABELS = {
    # case: (changes, field named, words of the problem, words of what is allowed)
    "binary on a numeric column": (
        {
            "data__labels_from": "ml_cancellation_features",
            "data__label": "distance_mi",
            "data__numeric": ["sched_hour", "sched_weekday"],
        },
        "data.label",
        "ml_cancellation_features.distance_mi (data_type double) is no yes/no column",
        "data_type: boolean, or accepted_values of two values",
    ),
    "regression on a boolean column": (
        {"task": "regression", "gate__floors": None, "monitoring__performance__floors": None},
        "data.label",
        "fct_flights.is_late (accepted values True, False) is not numeric",
        "data_type: a number type",
    ),
    "regression on a string column": (
        {
            "task": "regression",
            "gate__floors": None,
            "monitoring__performance__floors": None,
            "data__labels_from": "ml_delay_class_features",
            "data__label": "delay_class",
        },
        "data.label",
        "delay_class (accepted values on_time, late, very_late) is not numeric",
        "or another task",
    ),
    "multiclass classes differing from the accepted values": (
        {
            "task": "multiclass",
            "gate__floors": None,
            "monitoring__performance__floors": None,
            "data__classes": ["on_time", "late", "lost"],
            "data__labels_from": "ml_delay_class_features",
            "data__label": "delay_class",
        },
        "data.classes",
        "on_time, late, lost are not the accepted values of ml_delay_class_features.delay_class",
        "on_time, late, very_late (in any order)",
    ),
    "an undeclared label": (
        {"data__labels_from": "ml_cancellation_features", "data__label": "route"},
        "data.label",
        "ml_cancellation_features.route declares neither a data_type nor accepted_values",
        "declare data_type: boolean",
    ),
    "a label in a Python feature table": (
        {
            "data__labels_from": DROP,
            "data__label": "distance_mi",
            "data__numeric": ["sched_hour", "sched_weekday"],
        },
        "data.labels_from",
        "flight_features is built in Python",
        "a dbt model holding the label",
    ),
}


@pytest.fixture
def project(tmp_path, monkeypatch: pytest.MonkeyPatch) -> Project:  # noqa: ANN001
    return Project(tmp_path, monkeypatch)


@pytest.mark.parametrize("case", BAD_LABELS)
def test_a_label_unfit_for_its_task_fails_loading(project: Project, case: str) -> None:
    changes, field, problem, allowed = BAD_LABELS[case]
    path = project.write("churn", spec(**changes))
    with pytest.raises(SpecError) as raised:
        project.build("churn")
    (line,) = str(raised.value).splitlines()
    assert line.startswith(str(path)) and f": {field}: " in line, line
    assert problem in line, line
    assert re.search(r"; allowed: .*" + re.escape(allowed), line), line


@pytest.mark.parametrize(
    "changes",
    [
        {},  # binary: fct_flights.is_late accepts true, false
        {
            "task": "multiclass",
            "gate__floors": None,
            "monitoring__performance__floors": None,
            "data__classes": ["very_late", "late", "on_time"],
            "data__labels_from": "ml_delay_class_features",
            "data__label": "delay_class",
        },
    ],  # fmt: skip
)
def test_a_label_fit_for_its_task_loads(project: Project, changes: dict) -> None:
    project.write("churn", spec(**changes))
    keys = project.load().resolve_asset_graph().get_all_asset_keys()
    assert dg.AssetKey("churn_package") in keys
