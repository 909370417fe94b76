with planes as (
    select * from {{ ref('stg_nycflights__planes') }}
),

final as (
    select
        tailnum,
        manufactured_year,
        aircraft_type,
        manufacturer,
        model,
        engines,
        seats,
        cruise_speed_mph,
        engine_type
    from planes
)

select * from final
