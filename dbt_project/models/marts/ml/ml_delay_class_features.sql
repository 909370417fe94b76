-- One row per scheduled flight: the inputs of ml_cancellation_features (what is known before
-- departure: the schedule, the day's counts, the origin weather at the scheduled hour) plus the
-- label delay_class, the class of its arrival delay: on_time (at most 15 minutes late), late
-- (16 to 60) or very_late (over 60). Null while the outcome has not landed (the day after the
-- flight) and for a flight that never arrived (cancelled or diverted). Of the outcome columns
-- only the label is read.

with inputs as (
    select * exclude (is_cancelled) from {{ ref('ml_cancellation_features') }}
),

flights as (
    select * from {{ ref('fct_flights') }}
),

final as (
    select
        inputs.*,
        case
            when not flights.has_outcome or flights.is_cancelled then null
            when flights.arrival_delay_min is null then null
            when flights.arrival_delay_min <= 15 then 'on_time'
            when flights.arrival_delay_min <= 60 then 'late'
            else 'very_late'
        end as delay_class
    from inputs
    inner join flights
        on inputs.flight_id = flights.flight_id
)

select * from final
