with source as (
    select * from {{ source('nycflights', 'raw_planes') }}
),

renamed as (
    select
        tailnum,
        year as manufactured_year,
        type as aircraft_type,
        manufacturer,
        model,
        engines,
        seats,
        speed as cruise_speed_mph,
        engine as engine_type
    from source
)

select * from renamed
