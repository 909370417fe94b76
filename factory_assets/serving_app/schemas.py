"""Request and response bodies of the scoring API, validated by pydantic."""

import datetime as dt
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, field_validator

Code = Annotated[StrictStr, Field(pattern=r"^[A-Z0-9]{2}$", examples=["UA"])]
Airport = Annotated[StrictStr, Field(pattern=r"^[A-Z]{3}$", examples=["EWR"])]


class Flight(BaseModel):
    """A scheduled flight as upstream sends it (fct_flights semantics, landing-file names).

    Outcomes (departure and arrival times, delays) are not features and are ignored if sent.
    """

    model_config = ConfigDict(extra="ignore")

    flight_date: dt.date = Field(description="local date of the scheduled departure")
    sched_dep_time: StrictInt = Field(ge=0, le=2359, description="local HHMM", examples=[1530])
    sched_arr_time: StrictInt | None = Field(None, ge=0, le=2400, description="local HHMM")
    carrier: Code
    flight: StrictInt = Field(ge=1, le=99_999, examples=[1545])
    tailnum: StrictStr | None = Field(None, max_length=10, examples=["N14228"])
    origin: Airport
    dest: Airport = Field(examples=["IAH"])
    distance: float = Field(strict=True, gt=0, le=20_000, allow_inf_nan=False, examples=[1400])

    @field_validator("sched_dep_time")
    @classmethod
    def _minutes(cls, value: int) -> int:
        if value % 100 > 59:
            raise ValueError(f"{value} is not a local HHMM time (minutes above 59)")
        return value


class PredictRequest(BaseModel):
    """A batch of flights to score (the flights model's feature function makes their rows)."""

    flights: list[Flight] = Field(min_length=1, description="at most FACTORY_SERVE_MAX_ROWS")


class PredictResponse(BaseModel):
    """Predictions with the versions that made them and the snapshot's day.

    Each prediction holds the row's keys, the task's outputs (``probability``; ``prediction``;
    ``prediction``, ``probability`` and ``probabilities``) and the model and version that made
    it (a segment's, or the fallback's).
    """

    model: str
    version: str | None = Field(description="the version, when one model scored every row")
    versions: dict[str, str] = Field(description="registered model -> version used")
    snapshot_as_of: str
    predictions: list[dict[str, Any]]


class ModelInfo(BaseModel):
    """A served model: its champions and, with shadow scoring on, its challengers."""

    name: str
    version: str | None
    versions: dict[str, str | None]
    loaded_at: str | None
    challenger_version: str | None
    challenger_versions: dict[str, str | None]
    shadow: bool
    snapshot_as_of: str | None
