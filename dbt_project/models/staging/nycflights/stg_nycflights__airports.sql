with source as (
    select * from {{ source('nycflights', 'raw_airports') }}
),

renamed as (
    select
        faa as airport_code,
        name as airport_name,
        lat as latitude,
        lon as longitude,
        alt as altitude_ft,
        tz as utc_offset_hours,
        dst as dst_rule,
        tzone as time_zone
    from source
)

select * from renamed
