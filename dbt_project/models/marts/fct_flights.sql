{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='flight_date',
        on_schema_change='fail'
    )
}}

-- Incremental by day: a run rebuilds only the days whose raw rows were (re)loaded since the
-- last build, replacing each such day whole (delete+insert on flight_date).
with flights as (
    select * from {{ ref('stg_nycflights__flights') }}
    {% if is_incremental() %}
    where flight_date in (
        select distinct flight_date
        from {{ ref('stg_nycflights__flights') }}
        where _loaded_at > (select coalesce(max(_loaded_at), timestamp '1900-01-01') from {{ this }})
    )
    {% endif %}
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
        -- outcomes, known only after departure: never features
        dep_time as departure_hhmm,
        dep_delay as departure_delay_min,
        arr_time as arrival_hhmm,
        arr_delay as arrival_delay_min,
        air_time as air_time_min,
        dep_time is null as is_cancelled,
        dep_time is not null and arr_delay is null as is_diverted,
        case when arr_delay is null then null else arr_delay > 15 end as is_late,
        _loaded_at
    from flights
)

select * from final
