"""The ``online:`` block of a model spec: where the scoring service finds each input.

As Feast's feature views: an input comes with the request, or is looked up by entity key in the
model's online snapshot (the newest row per key of its feature table, materialized by the line
as ``<name>_online_snapshot``), or the whole row is made by a feature function registered in
Python (lib/online/functions.py: how flights computes its rolling rates and weather).
"""

from typing import Literal, Self

import dagster as dg
import pydantic

from factory_assets.components.model_spec_fields import Identifier
from factory_assets.lib.online.functions import FUNCTIONS
from factory_assets.lib.specs.errors import listing, rule


class OnlineSpec(dg.Model):
    """How ``POST /v1/models/<name>/predict`` gets the model's inputs."""

    model_config = pydantic.ConfigDict(extra="forbid")

    entity: list[Identifier] = pydantic.Field(
        default_factory=list,
        description="The lookup keys a request sends (default: data.key). Every input not in "
        "`request` is looked up by them in the model's online snapshot.",
    )
    request: list[Identifier] = pydantic.Field(
        default_factory=list,
        description="Inputs that come with the request (validated: categories against the "
        "model's vocabulary, numbers against the training range, dates against the window).",
    )
    function: str | None = pydantic.Field(
        None,
        description="A feature function registered in Python (lib/online/functions.py) that "
        "makes the whole row from the request instead (flights: rolling rates, weather).",
    )
    days: int = pydantic.Field(
        7, ge=0, description="Days before the newest day of the feature table the snapshot holds."
    )
    tolerance: float = pydantic.Field(
        0.1,
        ge=0,
        description="A request number may lie this share of its training range outside it.",
    )
    unknown_categories: Literal["reject", "unknown"] = pydantic.Field(
        "reject",
        description="A request category outside the model's vocabulary: a 422 (reject), or "
        "scored as the model's unknown category (unknown).",
    )

    def check(self, inputs: list[str]) -> Self:
        """Raise a spec rule error for a request input that is no input or an unknown function."""
        for i, column in enumerate(self.request):
            if column not in inputs:
                raise rule(f"{column!r} is not an input", listing(sorted(inputs)),
                           at=("online", "request", i))  # fmt: skip
        if self.function is not None and self.function not in FUNCTIONS:
            raise rule(f"no feature function {self.function!r} is registered",
                       listing(sorted(FUNCTIONS)), at=("online", "function"))  # fmt: skip
        return self

    def keys(self, key: str) -> list[str]:
        """The entity keys: the spec's, or the table's key."""
        return list(self.entity) or [key]
