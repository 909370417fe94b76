with source as (
    select * from {{ source('screenings', 'raw_screenings') }}
),

renamed as (
    select
        screening_id,
        mean_radius,
        mean_texture,
        mean_perimeter,
        mean_area,
        mean_smoothness,
        mean_compactness,
        mean_concavity,
        mean_concave_points,
        mean_symmetry,
        mean_fractal_dimension,
        lower(diagnosis) as diagnosis,
        _batch,
        _loaded_at
    from source
)

select * from renamed
