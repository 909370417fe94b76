with source as (
    select * from {{ source('chicago', 'raw_chicago_ridership') }}
),

renamed as (
    select
        station || '-' || strftime("date", '%Y-%m-%d') as ridership_id,
        station,
        "date"::date as ride_date,
        rides::double as rides_thousands,
        _partition_date as delivered_on,
        _loaded_at
    from source
)

select * from renamed
