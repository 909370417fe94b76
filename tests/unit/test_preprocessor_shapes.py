"""A model of numeric (or categorical) inputs only gets tensors of one row per frame row."""

import polars as pl
import pytest

from factory_assets.lib.training.dataset import SMALL_FRAME, ModelColumns, Preprocessor


@pytest.mark.parametrize("rows", [3, SMALL_FRAME + 10])
@pytest.mark.parametrize(("categorical", "numeric"), [((), ("x",)), (("c",), ())])
def test_inputs_of_one_kind_keep_the_row_count(
    rows: int, categorical: tuple, numeric: tuple
) -> None:
    frame = pl.DataFrame(
        {"x": [float(i) for i in range(rows)], "c": ["a", "b"] * (rows // 2) + ["a"] * (rows % 2)}
    )
    columns = ModelColumns("k", "d", "y", categorical, numeric)
    cat, num = Preprocessor.fit(frame, columns).transform(frame)
    assert cat.shape == (rows, len(categorical))
    assert num.shape == (rows, len(numeric))
