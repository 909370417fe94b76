with source as (
    select * from {{ source('nycflights', 'raw_outcomes') }}
),

renamed as (
    select
        make_date(year, month, day) as flight_date,
        carrier as carrier_code,
        flight as flight_number,
        origin,
        dep_time,
        dep_delay,
        arr_time,
        arr_delay,
        air_time,
        _partition_date as delivered_on,
        _loaded_at
    from source
)

select * from renamed
