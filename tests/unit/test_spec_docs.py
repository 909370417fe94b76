"""The README's spec-field tables are generated from the specs' schemas and cannot go stale."""

from factory_assets.spec_docs import README, rendered, tables


def test_the_readme_holds_the_generated_tables() -> None:
    text = README.read_text()
    assert rendered(text) == text, "run `python -m factory_assets.spec_docs` to refresh README.md"


def test_every_field_of_both_specs_is_a_row() -> None:
    from factory_assets.components.landing_source import LandingSource
    from factory_assets.components.model_spec import ModelSpec
    from factory_assets.components.model_spec_fields import DataSpec

    generated = tables()
    for name in LandingSource.model_fields:
        assert f"| `{name}` |" in generated["source"], name
    for name in ModelSpec.model_fields:
        assert f"| `{name}` |" in generated["model"], name
    for name in DataSpec.model_fields:
        assert f"| `data.{name}` |" in generated["model"], name
