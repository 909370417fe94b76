"""Feature tables built in Python (dbt builds the others): each one's columns and inputs.

The model specs are checked against these columns when the definitions load, and a model
over one of them takes the calendar of the warehouse tables it reads (lib/catalog.py).
"""

from factory_assets.lib.features.flights import FEATURE_COLUMNS as FLIGHT_FEATURE_COLUMNS

PYTHON_TABLES: dict[str, tuple[str, ...]] = {"flight_features": FLIGHT_FEATURE_COLUMNS}
# The warehouse tables each one reads (its asset's deps).
PYTHON_DEPS: dict[str, tuple[str, ...]] = {
    "flight_features": ("fct_flights", "fct_weather_hourly", "dim_planes"),
}
