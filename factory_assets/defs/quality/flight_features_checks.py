"""Great Expectations suite on flight_features; blocks training when it fails."""

from factory_assets.checks import build_suite_check

FLIGHT_FEATURES_EXPECTATIONS = [
    ("ExpectTableRowCountToBeBetween", {"min_value": 1}),
    ("ExpectColumnValuesToBeUnique", {"column": "flight_id"}),
    *[
        ("ExpectColumnValuesToNotBeNull", {"column": column})
        for column in (
            "flight_id",
            "carrier",
            "origin",
            "dest",
            "sched_hour",
            "distance_mi",
            "route_flights_28d",
            "carrier_flights_28d",
        )
    ],
    ("ExpectColumnValuesToBeBetween", {"column": "sched_hour", "min_value": 0, "max_value": 23}),
    ("ExpectColumnValuesToBeBetween", {"column": "sched_weekday", "min_value": 1, "max_value": 7}),
    ("ExpectColumnValuesToBeBetween", {"column": "sched_month", "min_value": 1, "max_value": 12}),
    (
        "ExpectColumnValuesToBeBetween",
        {"column": "route_late_rate_28d", "min_value": 0, "max_value": 1},
    ),
    (
        "ExpectColumnValuesToBeBetween",
        {"column": "carrier_late_rate_28d", "min_value": 0, "max_value": 1},
    ),
    # Point in time: weather is never from after the scheduled hour, nor older than 3 h.
    (
        "ExpectColumnValuesToBeBetween",
        {"column": "weather_age_hours", "min_value": 0, "max_value": 3},
    ),
    ("ExpectColumnValuesToNotBeNull", {"column": "temperature_f", "mostly": 0.95}),
    (
        "ExpectColumnValuesToBeBetween",
        {"column": "temperature_f", "min_value": -30, "max_value": 120},
    ),
]

flight_features_meets_suite = build_suite_check(
    "flight_features",
    "select * from flight_features",
    FLIGHT_FEATURES_EXPECTATIONS,
    "GX suite on flight_features: keys, domains, rates in [0, 1], weather never later than the "
    "scheduled hour. Blocking.",
    key="flight_id",
    date="flight_date",
    watermark=("fct_flights", "flight_date"),  # the features are rebuilt from its rows
)
