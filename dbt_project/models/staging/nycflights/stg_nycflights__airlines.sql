with source as (
    select * from {{ source('nycflights', 'raw_airlines') }}
),

renamed as (
    select
        carrier as carrier_code,
        name as carrier_name
    from source
)

select * from renamed
