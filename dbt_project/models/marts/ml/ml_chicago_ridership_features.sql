-- One row per L station and day with weather: what is known before the day (its weather, which
-- lands on the day; the calendar; home games; the station's counts of 14 or more days before,
-- as counts land 14 days late) and the label rides_thousands, the day's count itself, which
-- lands 14 days after the day. Nothing counted on D - 13 … D reaches an input of D.

with ridership as (
    select * from {{ ref('stg_chicago__ridership') }}
),

weather as (
    select * from {{ ref('stg_chicago__weather') }}
),

stations as (
    select distinct station from ridership
),

bounds as (
    select
        least(
            (select min(ride_date) from ridership), (select min(weather_date) from weather)
        ) as first_day,
        greatest(
            (select max(ride_date) from ridership), (select max(weather_date) from weather)
        ) as last_day
),

-- every day from the first count or weather day to the last: on a dense calendar a row offset
-- is a day offset, so lag(x, 14) is the count of 14 days before (null where none has landed)
calendar as (
    select unnest(generate_series(first_day, last_day, interval 1 day))::date as ride_date
    from bounds
),

station_days as (
    select
        stations.station,
        calendar.ride_date,
        ridership.rides_thousands
    from stations
    cross join calendar
    left join ridership
        on stations.station = ridership.station
        and calendar.ride_date = ridership.ride_date
),

lagged as (
    select
        station,
        ride_date,
        rides_thousands,
        lag(rides_thousands, 14) over by_day as rides_lag_14d,
        lag(rides_thousands, 21) over by_day as rides_lag_21d,
        lag(rides_thousands, 28) over by_day as rides_lag_28d,
        lag(rides_thousands, 35) over by_day as rides_lag_35d,
        avg(rides_thousands) over (
            by_day rows between 41 preceding and 14 preceding
        ) as rides_mean_14_41d
    from station_days
    window by_day as (partition by station order by ride_date)
),

same_weekday as (
    select
        *,
        -- null unless all four same-weekday counts have landed
        (rides_lag_14d + rides_lag_21d + rides_lag_28d + rides_lag_35d) / 4
            as rides_weekday_mean_14_35d,
        case
            when (rides_lag_14d + rides_lag_21d + rides_lag_28d + rides_lag_35d) is not null
                then list_median([rides_lag_14d, rides_lag_21d, rides_lag_28d, rides_lag_35d])
        end as rides_weekday_median_14_35d
    from lagged
),

years as (
    select distinct year(weather_date) as holiday_year from weather
    union
    -- a New Year's Day on a Saturday is observed on the Friday before, in the year before
    select distinct year(weather_date) + 1 from weather
),

-- US federal holidays (5 U.S.C. 6103) by their rules: a fixed date, or the nth weekday of a
-- month (nth -1: the last), from the year each rule holds
holiday_rules as (
    select * from (
        values
            ('new_years_day', 1, 1, null, null, 1871),
            ('martin_luther_king_jr_day', 1, null, 1, 3, 1986),
            ('washingtons_birthday', 2, null, 1, 3, 1971),
            ('memorial_day', 5, null, 1, -1, 1971),
            ('juneteenth', 6, 19, null, null, 2021),
            ('independence_day', 7, 4, null, null, 1871),
            ('labor_day', 9, null, 1, 1, 1894),
            ('columbus_day', 10, null, 1, 2, 1971),
            ('veterans_day', 11, 11, null, null, 1978),
            ('thanksgiving_day', 11, null, 4, 4, 1942),
            ('christmas_day', 12, 25, null, null, 1871)
    ) as rules (holiday, holiday_month, fixed_day, iso_weekday, nth, first_year)
),

holiday_months as (
    select
        holiday_rules.*,
        make_date(years.holiday_year, holiday_rules.holiday_month, 1) as month_start
    from holiday_rules
    cross join years
    where years.holiday_year >= holiday_rules.first_year
),

holiday_dates as (
    select
        holiday,
        case
            when fixed_day is not null
                then make_date(year(month_start), holiday_month, fixed_day)
            when nth > 0
                then month_start
                + ((iso_weekday - isodow(month_start) + 7) % 7 + 7 * (nth - 1))::integer
            else last_day(month_start)
                - ((isodow(last_day(month_start)) - iso_weekday + 7) % 7)::integer
        end as holiday_date
    from holiday_months
),

-- the holiday itself and, when it falls on a weekend, the weekday it is observed on
holidays as (
    select holiday_date as ride_date from holiday_dates
    union
    select
        case isodow(holiday_date) when 6 then holiday_date - 1 else holiday_date + 1 end
    from holiday_dates
    where isodow(holiday_date) in (6, 7)
),

final as (
    select
        same_weekday.station || '-' || strftime(same_weekday.ride_date, '%Y-%m-%d')
            as ridership_id,
        same_weekday.ride_date,
        same_weekday.station,
        isodow(same_weekday.ride_date) as ride_weekday,
        month(same_weekday.ride_date) as ride_month,
        holidays.ride_date is not null as is_holiday,
        weather.temp_min_f,
        weather.temp_f,
        weather.temp_max_f,
        weather.temp_range_f,
        weather.dewpoint_f,
        weather.humidity_pct,
        weather.pressure_inhg,
        weather.pressure_change_inhg,
        weather.wind_mph,
        weather.wind_max_mph,
        weather.gust_mph,
        weather.gust_max_mph,
        weather.precipitation_in,
        weather.precipitation_max_in,
        weather.rain_share,
        weather.snow_share,
        weather.cloud_share,
        weather.storm_share,
        weather.has_blackhawks_home_game,
        weather.has_bulls_home_game,
        weather.has_bears_home_game,
        weather.has_white_sox_home_game,
        weather.has_cubs_home_game,
        same_weekday.rides_lag_14d,
        same_weekday.rides_lag_21d,
        same_weekday.rides_lag_28d,
        same_weekday.rides_lag_35d,
        same_weekday.rides_weekday_mean_14_35d,
        same_weekday.rides_weekday_median_14_35d,
        same_weekday.rides_mean_14_41d,
        -- the label (regression): the day's entries, null until its count lands (14 days later)
        same_weekday.rides_thousands
    from weather
    inner join same_weekday
        on weather.weather_date = same_weekday.ride_date
    left join holidays
        on weather.weather_date = holidays.ride_date
)

select * from final
