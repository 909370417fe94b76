"""The one Markdown table writer: cells escaped, rows checked, frames formatted."""

import polars as pl
import pytest

from factory_assets.lib.markdown import frame_table, markdown_table


def test_a_table_escapes_pipes_and_newlines_in_every_cell() -> None:
    text = markdown_table(["re|ason", "rows"], [["bad | value\nnext", 3]], align=["left", "right"])
    assert text.splitlines() == [
        "| re\\|ason | rows |",
        "| --- | ---: |",
        "| bad \\| value next | 3 |",
    ]


def test_a_table_without_rows_is_its_header() -> None:
    assert markdown_table(["a", "b"], []) == "| a | b |\n| --- | --- |"


@pytest.mark.parametrize(
    ("rows", "align", "match"),
    [
        ([[1]], None, "a row of 1 cells under a header of 2"),
        ([[1, 2]], ["left"], "align must give"),
        ([[1, 2]], ["left", "center"], "align must give"),
    ],
)
def test_a_malformed_table_is_refused(rows: list, align: list | None, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        markdown_table(["a", "b"], rows, align=align)


def test_a_frame_escapes_pipes_and_shows_missing_as_dash() -> None:
    frame = pl.DataFrame(
        {"segment": ["a|b", None], "auc": [0.123456, float("nan")], "n": [3, None]}
    )
    lines = frame_table(frame, float_digits=3).splitlines()
    assert lines[0] == "| segment | auc | n |"
    assert lines[1] == "| --- | ---: | ---: |"
    assert lines[2] == "| a\\|b | 0.123 | 3 |"
    assert lines[3] == "| – | – | – |"


def test_a_frame_notes_rows_left_out() -> None:
    text = frame_table(pl.DataFrame({"i": range(7)}), max_rows=5)
    assert text.count("\n| ") == 6  # rule + 5 rows after the header
    assert text.endswith("_2 more rows not shown._")
    assert "not shown" not in frame_table(pl.DataFrame({"i": range(5)}), max_rows=5)
