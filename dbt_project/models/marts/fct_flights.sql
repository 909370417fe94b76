{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='flight_date',
        on_schema_change='fail'
    )
}}

-- Incremental by day: a run rebuilds only the days whose schedule or outcomes were (re)loaded
-- since that day was built, replacing each such day whole (delete+insert on flight_date).
-- Outcomes land a day after the schedule, so a day is built twice: scheduled, then with its
-- labels. The watermark is each day's own, not the table's newest: runs of other days load side
-- by side, and a load stamped earlier can commit after a later one was built.
with
{% if is_incremental() %}
built as (
    select flight_date, max(_loaded_at) as loaded_at, bool_or(has_outcome) as has_outcome
    from {{ this }} group by flight_date
),

staged as (
    select flight_date, max(_loaded_at) as loaded_at, false as has_outcome
    from {{ ref('stg_nycflights__flights') }} group by flight_date
    union all
    select flight_date, max(_loaded_at) as loaded_at, true as has_outcome
    from {{ ref('stg_nycflights__outcomes') }} group by flight_date
),

changed_days as (
    select staged.flight_date from staged left join built using (flight_date)
    group by staged.flight_date
    having max(staged.loaded_at) > coalesce(max(built.loaded_at), timestamp '1900-01-01')
        or (bool_or(staged.has_outcome) and not coalesce(bool_or(built.has_outcome), false))
),
{% endif %}

flights as (
    select * from {{ ref('stg_nycflights__flights') }}
    {% if is_incremental() %}
    where flight_date in (select flight_date from changed_days)
    {% endif %}
),

outcomes as (
    select * from {{ ref('stg_nycflights__outcomes') }}
    {% if is_incremental() %}
    where flight_date in (select flight_date from changed_days)
    {% endif %}
),

joined as (
    select
        flights.* exclude (_loaded_at),
        outcomes.dep_time,
        outcomes.dep_delay,
        outcomes.arr_time,
        outcomes.arr_delay,
        outcomes.air_time,
        outcomes.delivered_on as outcome_delivered_on,
        outcomes.flight_date is not null as has_outcome,
        greatest(flights._loaded_at, coalesce(outcomes._loaded_at, flights._loaded_at))
            as _loaded_at
    from flights
    left join outcomes using (flight_date, carrier_code, flight_number, origin)
),

final as (
    select
        strftime(flight_date, '%Y-%m-%d') || '-' || carrier_code || '-' || flight_number::varchar
        || '-' || origin as flight_id,
        flight_date,
        carrier_code,
        flight_number,
        tailnum,
        origin,
        dest,
        origin || '-' || dest as route,
        flight_date + make_time(scheduled_departure_hour, scheduled_departure_minute, 0)
            as scheduled_departure_at,
        scheduled_hour_utc,
        scheduled_departure_hour,
        sched_arr_time as scheduled_arrival_hhmm,
        distance as distance_mi,
        -- outcomes, delivered the day after the flight and known only after departure:
        -- never features; null until they land (has_outcome false)
        has_outcome,
        outcome_delivered_on,
        dep_time as departure_hhmm,
        dep_delay as departure_delay_min,
        arr_time as arrival_hhmm,
        arr_delay as arrival_delay_min,
        air_time as air_time_min,
        case when has_outcome then dep_time is null end as is_cancelled,
        case when has_outcome then dep_time is not null and arr_delay is null end as is_diverted,
        case when arr_delay is null then null else arr_delay > 15 end as is_late,
        _loaded_at
    from joined
)

select * from final
