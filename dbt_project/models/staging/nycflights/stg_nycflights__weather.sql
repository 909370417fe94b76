with source as (
    select * from {{ source('nycflights', 'raw_weather') }}
),

renamed as (
    select
        origin || '-' || strftime(time_hour, '%Y%m%d%H') as weather_id,
        origin,
        time_hour as observed_hour_utc,
        make_date(year, month, day) as local_date,
        hour as local_hour,
        temp as temperature_f,
        dewp as dewpoint_f,
        humid as humidity_pct,
        wind_dir as wind_direction_deg,
        wind_speed as wind_speed_mph,
        wind_gust as wind_gust_mph,
        precip as precipitation_in,
        pressure as pressure_mb,
        visib as visibility_mi,
        _loaded_at
    from source
)

select * from renamed
