-- One row per scheduled flight: what is known before departure (the schedule, and the origin
-- weather observed by the scheduled hour) plus the label is_cancelled. Of the outcome columns
-- only the label is read. Point in time as lib/features/flights.py: an observation counts from
-- the first full hour at or after it was made, and a flight takes the newest one at its
-- scheduled UTC hour that is at most weather_tolerance_hours old.
{% set weather_tolerance_hours = 3 %}

with flights as (
    select * from {{ ref('fct_flights') }}
),

weather as (
    select * from {{ ref('fct_weather_hourly') }}
),

observations as (
    select
        *,
        case
            when observed_hour_utc = date_trunc('hour', observed_hour_utc) then observed_hour_utc
            else date_trunc('hour', observed_hour_utc) + interval 1 hour
        end as usable_from_utc
    from weather
),

-- each observation stands for its usable hour and the tolerance's hours after it; a flight
-- looks up its scheduled hour with an equi-join, so no hour after it is ever in reach
weather_hours as (
    select
        observations.*,
        observations.usable_from_utc + to_hours(lags.lag_hours) as valid_hour_utc
    from observations
    cross join range(0, {{ weather_tolerance_hours + 1 }}) as lags (lag_hours)
),

weather_at_hour as (
    select * from weather_hours
    qualify row_number() over (
        partition by origin, valid_hour_utc
        order by usable_from_utc desc, observed_hour_utc desc
    ) = 1
),

final as (
    select
        flights.flight_id,
        flights.flight_date,
        flights.carrier_code as carrier,
        flights.origin,
        flights.dest,
        flights.route,
        flights.scheduled_departure_hour as sched_hour,
        isodow(flights.flight_date) as sched_weekday,
        month(flights.flight_date) as sched_month,
        flights.distance_mi::double as distance_mi,
        -- a day's schedule lands as one file before its first departure: counts known ahead
        count(*) over (
            partition by flights.flight_date, flights.origin, flights.scheduled_departure_hour
        ) as origin_hour_flights,
        count(*) over (partition by flights.flight_date, flights.origin) as origin_day_flights,
        count(*) over (
            partition by flights.flight_date, flights.origin, flights.dest
        ) as route_day_flights,
        epoch(flights.scheduled_hour_utc - weather_at_hour.observed_hour_utc) / 3600
            as weather_age_hours,
        weather_at_hour.temperature_f,
        weather_at_hour.dewpoint_f,
        weather_at_hour.humidity_pct,
        weather_at_hour.wind_speed_mph,
        weather_at_hour.wind_gust_mph,
        weather_at_hour.precipitation_in,
        weather_at_hour.pressure_mb,
        weather_at_hour.visibility_mi,
        -- the label: null until the flight's outcome lands, the day after the flight
        case when flights.has_outcome then flights.is_cancelled end as is_cancelled
    from flights
    left join weather_at_hour
        on flights.origin = weather_at_hour.origin
        and date_trunc('hour', flights.scheduled_hour_utc) = weather_at_hour.valid_hour_utc
)

select * from final
