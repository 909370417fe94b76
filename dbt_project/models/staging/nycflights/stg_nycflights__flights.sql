with source as (
    select * from {{ source('nycflights', 'raw_flights') }}
),

renamed as (
    select
        make_date(year, month, day) as flight_date,
        carrier as carrier_code,
        flight as flight_number,
        tailnum,
        origin,
        dest,
        sched_dep_time,
        sched_arr_time,
        hour as scheduled_departure_hour,
        minute as scheduled_departure_minute,
        -- upstream sends the scheduled hour as a UTC instant; weather is keyed the same way
        time_hour as scheduled_hour_utc,
        distance,
        _loaded_at
    from source
)

select * from renamed
