"""Great Expectations suite on fct_flights; blocks feature builds when it fails."""

from factory_assets.checks import build_suite_check

FCT_FLIGHTS_EXPECTATIONS = [
    ("ExpectTableRowCountToBeBetween", {"min_value": 1}),
    ("ExpectColumnValuesToBeUnique", {"column": "flight_id"}),
    *[
        ("ExpectColumnValuesToNotBeNull", {"column": column})
        for column in (
            "flight_id",
            "flight_date",
            "carrier_code",
            "origin",
            "dest",
            "scheduled_hour_utc",
            "distance_mi",
            "has_outcome",
        )
    ],
    ("ExpectColumnValuesToBeInSet", {"column": "origin", "value_set": ["EWR", "JFK", "LGA"]}),
    ("ExpectColumnValuesToBeBetween", {"column": "distance_mi", "min_value": 1, "max_value": 5000}),
    (
        "ExpectColumnValuesToBeBetween",
        {"column": "scheduled_departure_hour", "min_value": 0, "max_value": 23},
    ),
    # A late share outside 2 %-70 % means a broken feed, not a bad day (2013: 13 %-33 % a month).
    ("ExpectColumnMeanToBeBetween", {"column": "is_late", "min_value": 0.02, "max_value": 0.7}),
    # Cancelled flights have no arrival delay, so no lateness.
    ("ExpectColumnValuesToBeNull", {"column": "cancelled_arrival_delay_min"}),
    # A landed outcome always says whether the flight was cancelled.
    ("ExpectColumnValuesToBeNull", {"column": "outcome_without_cancel_flag"}),
]

FCT_FLIGHTS_QUERY = (
    "select * exclude (is_late), is_late::double as is_late, "
    "case when is_cancelled then arrival_delay_min end as cancelled_arrival_delay_min, "
    "case when has_outcome and is_cancelled is null then 1 end as outcome_without_cancel_flag "
    "from fct_flights"
)

fct_flights_meets_suite = build_suite_check(
    "fct_flights",
    FCT_FLIGHTS_QUERY,
    FCT_FLIGHTS_EXPECTATIONS,
    "GX suite on fct_flights: keys, domains, late share and cancellation logic. Blocking.",
    key="flight_id",
    date="flight_date",
)
