with source as (
    select * from {{ source('chicago', 'raw_chicago_weather') }}
),

renamed as (
    select
        "date"::date as weather_date,
        temp_min::double as temp_min_f,
        temp::double as temp_f,
        temp_max::double as temp_max_f,
        temp_change::double as temp_range_f,
        dew::double as dewpoint_f,
        humidity::double as humidity_pct,
        pressure::double as pressure_inhg,
        pressure_change::double as pressure_change_inhg,
        wind::double as wind_mph,
        wind_max::double as wind_max_mph,
        gust::double as gust_mph,
        gust_max::double as gust_max_mph,
        percip::double as precipitation_in,
        percip_max::double as precipitation_max_in,
        weather_rain::double as rain_share,
        weather_snow::double as snow_share,
        weather_cloud::double as cloud_share,
        weather_storm::double as storm_share,
        blackhawks_home::boolean as has_blackhawks_home_game,
        blackhawks_away::boolean as has_blackhawks_away_game,
        bulls_home::boolean as has_bulls_home_game,
        bulls_away::boolean as has_bulls_away_game,
        bears_home::boolean as has_bears_home_game,
        bears_away::boolean as has_bears_away_game,
        white_sox_home::boolean as has_white_sox_home_game,
        white_sox_away::boolean as has_white_sox_away_game,
        cubs_home::boolean as has_cubs_home_game,
        cubs_away::boolean as has_cubs_away_game,
        _partition_date as delivered_on,
        _loaded_at
    from source
)

select * from renamed
