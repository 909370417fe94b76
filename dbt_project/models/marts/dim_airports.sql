-- Every airport in the reference snapshot, plus any airport a flight names that the snapshot
-- lacks (is_in_reference = false), so flights never point at a missing airport.
with airports as (
    select * from {{ ref('stg_nycflights__airports') }}
),

flown as (
    select origin as airport_code from {{ ref('stg_nycflights__flights') }}
    union
    select dest from {{ ref('stg_nycflights__flights') }}
),

unknown as (
    select flown.airport_code
    from flown
    anti join airports on flown.airport_code = airports.airport_code
),

final as (
    select *, true as is_in_reference from airports
    union all by name
    select airport_code, false as is_in_reference from unknown
)

select * from final
