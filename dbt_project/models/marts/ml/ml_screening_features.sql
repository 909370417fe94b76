-- One row per screening: the ten mean nucleus measurements (inputs), the label is_malignant
-- and the batch that brought it (_batch: scoring and monitoring read a batch by it). The
-- samples have no date: the model splits them by a seeded hash of screening_id.

with screenings as (
    select * from {{ ref('stg_screenings__screenings') }}
),

final as (
    select
        screening_id,
        _batch,
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
        diagnosis = 'malignant' as is_malignant
    from screenings
)

select * from final
