"""Great Expectations 1.x suites run on in-memory frames (ephemeral context, no GX project).

Expectations are plain data, ``(ExpectationClassName, kwargs)``, so defining a suite costs no
import; great_expectations (about 3 s to import) is loaded only when a suite runs.
"""

from dataclasses import dataclass

import pandas as pd

Expectation = tuple[str, dict]


@dataclass(frozen=True)
class SuiteOutcome:
    """What a suite run found: overall success, each failed expectation, GX statistics."""

    success: bool
    failed: list[dict]
    evaluated: int


def _describe(result) -> dict:  # noqa: ANN001 (a GX ExpectationValidationResult)
    config = result.expectation_config
    details = result.result or {}
    return {
        "expectation": config.type,
        "column": config.kwargs.get("column", ""),
        "unexpected_count": details.get("unexpected_count"),
        "unexpected_percent": details.get("unexpected_percent"),
        "observed_value": details.get("observed_value"),
        "exception": (result.exception_info or {}).get("exception_message"),
    }


def run_suite(
    frame: pd.DataFrame, suite_name: str, expectations: list[Expectation]
) -> SuiteOutcome:
    """Validate ``frame`` against the expectations with an ephemeral GX context."""
    import great_expectations as gx
    import great_expectations.expectations as gxe
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    batch_definition = (
        context.data_sources.add_pandas(f"{suite_name}_source")
        .add_dataframe_asset(suite_name)
        .add_batch_definition_whole_dataframe("all")
    )
    suite = context.suites.add(gx.ExpectationSuite(name=suite_name))
    for name, kwargs in expectations:
        suite.add_expectation(getattr(gxe, name)(**kwargs))
    validation = context.validation_definitions.add(
        gx.ValidationDefinition(name=suite_name, data=batch_definition, suite=suite)
    )
    result = validation.run(batch_parameters={"dataframe": frame})
    failed = [_describe(r) for r in result.results if not r.success]
    return SuiteOutcome(success=bool(result.success), failed=failed, evaluated=len(result.results))
