"""``factory``'s champion summary: every registered model, or the one rolled back."""

from pathlib import Path

import pytest

from factory_assets.cli import _champion_summary
from factory_assets.lib.registry import CHAMPION, Registry


@pytest.fixture
def registry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Registry:
    """A fresh MLflow registry: churn with a champion (v2), late_by_dest-RSW served elsewhere."""
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("FACTORY_MLFLOW_TRACKING_URI", uri)
    monkeypatch.setenv("FACTORY_MLFLOW_ARTIFACTS", (tmp_path / "artifacts").as_uri())
    registry = Registry(uri)
    registry.client.create_registered_model("churn")
    for auc in ("0.7100", "0.7300"):
        tags = {"holdout_auc": auc, "holdout_brier": "0.2000", "data_version": "d"}
        version = registry.client.create_model_version(
            "churn", (tmp_path / "p").as_uri(), tags=tags
        )
    registry.client.set_registered_model_alias("churn", CHAMPION, version.version)
    registry.client.create_registered_model("late_by_dest-RSW", tags={"fallback": "flights"})
    return registry


def test_the_summary_names_every_registered_model(registry, capsys) -> None:  # noqa: ANN001
    _champion_summary()
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("churn champion: version 2; holdout AUC 0.7300, Brier 0.2000")
    assert lines[1] == "late_by_dest-RSW: no champion (served by flights)"
    assert len(lines) == 2


def test_the_summary_after_a_rollback_names_that_model(registry, capsys) -> None:  # noqa: ANN001
    _champion_summary(["late_by_dest-RSW"])
    assert capsys.readouterr().out == "late_by_dest-RSW: no champion (served by flights)\n"
    _champion_summary(["cancellations"])
    assert capsys.readouterr().out == "cancellations: no champion\n"


def test_an_empty_registry_says_so(tmp_path: Path, monkeypatch, capsys) -> None:  # noqa: ANN001
    monkeypatch.setenv("FACTORY_MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    monkeypatch.setenv("FACTORY_MLFLOW_ARTIFACTS", (tmp_path / "artifacts").as_uri())
    _champion_summary()
    assert capsys.readouterr().out == "no registered model\n"
