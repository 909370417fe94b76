"""ONNX export and parity, data and code versions, the model card."""

import re
import time
import warnings
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import torch
from torch import nn

from factory_assets.lib.model_card import model_card
from factory_assets.lib.packaging import (
    ParityError,
    check_parity,
    code_version,
    data_version,
    export_onnx,
    onnx_predict,
)

CARDINALITIES = (5, 7, 3)
N_NUM = 4


class TinyNet(nn.Module):
    """Stand-in with the real net's signature: (cat [b, n_cat], num [b, n_num]) -> logits [b]."""

    def __init__(self) -> None:
        super().__init__()
        self.embeddings = nn.ModuleList(nn.Embedding(n, 3) for n in CARDINALITIES)
        width = 3 * len(CARDINALITIES) + N_NUM
        self.mlp = nn.Sequential(nn.Linear(width, 8), nn.ReLU(), nn.Dropout(0.5), nn.Linear(8, 1))

    def forward(self, cat: torch.Tensor, num: torch.Tensor) -> torch.Tensor:
        embedded = [emb(cat[:, i]) for i, emb in enumerate(self.embeddings)]
        return self.mlp(torch.cat([*embedded, num], dim=1)).squeeze(-1)


def sample(rows: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    cat = np.stack([rng.integers(0, n, rows) for n in CARDINALITIES], axis=1).astype(np.int64)
    return cat, rng.normal(size=(rows, N_NUM)).astype(np.float32)


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[TinyNet, Path]:
    torch.manual_seed(0)
    net = TinyNet().train()  # export must switch it to eval (Dropout off)
    path = tmp_path_factory.mktemp("onnx") / "flights.onnx"
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # export_onnx must leave no warning behind
        export_onnx(net, len(CARDINALITIES), N_NUM, path)
    print(f"export_onnx took {time.perf_counter() - start:.2f} s")
    return net, path


def test_export_writes_one_self_contained_file(exported: tuple[TinyNet, Path]) -> None:
    net, path = exported
    assert [p.name for p in path.parent.iterdir()] == ["flights.onnx"]
    assert not net.training


def test_graph_has_named_io_and_dynamic_batch(exported: tuple[TinyNet, Path]) -> None:
    import onnx

    graph = onnx.load(str(exported[1])).graph
    assert [i.name for i in graph.input] == ["cat", "num"]
    assert [o.name for o in graph.output] == ["probability"]
    assert all(i.type.tensor_type.shape.dim[0].dim_param for i in graph.input)


@pytest.mark.parametrize("rows", [1, 37])
def test_scores_any_batch_within_tolerance(exported: tuple[TinyNet, Path], rows: int) -> None:
    net, path = exported
    cat, num = sample(rows)
    probability = onnx_predict(path, cat, num)
    assert probability.shape == (rows,)
    assert ((probability > 0) & (probability < 1)).all()
    assert check_parity(net, path, cat, num, atol=1e-5) <= 1e-5


def test_parity_fails_for_another_net(exported: tuple[TinyNet, Path]) -> None:
    torch.manual_seed(1)
    with pytest.raises(ParityError, match="max abs diff"):
        check_parity(TinyNet(), exported[1], *sample(16))


def test_onnx_predict_accepts_a_session(exported: tuple[TinyNet, Path]) -> None:
    import onnxruntime as ort

    session = ort.InferenceSession(str(exported[1]), providers=["CPUExecutionProvider"])
    cat, num = sample(5)
    np.testing.assert_array_equal(
        onnx_predict(session, cat, num), onnx_predict(exported[1], cat, num)
    )


FRAME = pl.DataFrame({"carrier": ["AA", "UA", "B6"], "delay": [1.5, None, -3.0], "late": [1, 0, 0]})
WINDOW = ("2013-01-01", "2013-06-30")


def test_data_version_ignores_row_order() -> None:
    version = data_version(FRAME, WINDOW)
    assert re.fullmatch(r"sha256:[0-9a-f]{16}", version)
    assert data_version(FRAME.reverse(), WINDOW) == version
    assert data_version(FRAME.select(reversed(FRAME.columns)), WINDOW) == version


@pytest.mark.parametrize(
    "frame, window",
    [
        (FRAME.with_columns(pl.when(pl.col("carrier") == "UA").then(0.0).alias("delay")), WINDOW),
        (FRAME.with_columns(pl.col("late").cast(pl.Int32)), WINDOW),
        (FRAME.rename({"late": "is_late"}), WINDOW),
        (FRAME.head(2), WINDOW),
        (pl.concat([FRAME, FRAME.head(1)]), WINDOW),
        (FRAME, ("2013-01-01", "2013-07-31")),
    ],
)
def test_data_version_sees_any_change(frame: pl.DataFrame, window: tuple[str, str]) -> None:
    assert data_version(frame, window) != data_version(FRAME, WINDOW)


def test_code_version_of_this_repo_and_of_a_plain_dir(tmp_path: Path) -> None:
    assert re.fullmatch(r"[0-9a-f]{40}(-dirty)?", code_version())
    assert code_version(tmp_path) == "unknown"


FLIGHTS = (
    "Late arrival (more than 15 minutes) of a departure from New York, predicted from what is "
    "known before it leaves."
)


def test_model_card_has_sections_and_numbers() -> None:
    card = model_card(
        name="flights",
        version="7",
        description=FLIGHTS,
        label="is_late",
        features="flight_features",
        label_table="fct_flights",
        inputs=["carrier", "dep_hour"],
        data_version="sha256:0123456789abcdef",
        code_version="f" * 40 + "-dirty",
        window={"train": ("2013-01-01", "2013-09-30"), "holdout": ("2013-10-01", "2013-12-31")},
        params={"lr": 3e-4, "max_epochs": 12},
        metrics={"auc": 0.7312, "log_loss": 0.4871, "n": 81234},
        segment_tables={"carrier": "| carrier | auc |\n| --- | --- |\n| UA | 0.7011 |"},
        importance_table="| feature | importance |\n| --- | --- |\n| dep_hour | 0.0420 |",
        gate={"promoted": False, "reason": "auc 0.7312 < champion 0.7400", "champion_auc": 0.74},
    )
    for section in [
        "# Model card: flights",
        "## Intended use",
        "## Data",
        "## Parameters",
        "## Holdout metrics",
        "## Segments",
        "## Feature importance",
        "## Gate decision",
        "## Limitations",
    ]:
        assert section in card
    for text in [
        "sha256:0123456789abcdef",
        "f" * 40 + "-dirty",
        "2013-10-01",
        "| lr | 0.0003 |",
        "| auc | 0.7312 |",
        "81234",
        "| UA | 0.7011 |",
        "dep_hour",
        "Not promoted",
        "champion 0.7400",
        "15 min",
        "2013",
    ]:
        assert text in card


def test_model_card_takes_its_words_from_the_spec() -> None:
    card = model_card(
        name="churn",
        version=None,
        description="Whether a customer places no order in the next four weeks.",
        label="churned_next_4w",
        features="feat_customer_weekly",
        data_version="sha256:00",
        code_version="0" * 40,
        window={"train": ("2024-01-01", "2024-06-30"), "holdout": ("2024-07-01", "2024-07-31")},
        params={"lr": 1e-3},
        metrics={"auc": 0.81},
        segment_tables={},
        importance_table=None,
        gate={"promoted": True, "reason": "first model"},
        inputs=("orders_4w", "spend_4w"),
    )
    for text in [
        "Whether a customer places no order in the next four weeks.",
        "binary: the probability that `churned_next_4w` is true",
        "`churned_next_4w`, read from `feat_customer_weekly`",
        "2 columns of `feat_customer_weekly`: orders_4w, spend_4w",
        "rows of `feat_customer_weekly` dated 2024-01-01 to 2024-06-30 only",
        "drifts with time",
    ]:
        assert text in card, text
    for word in ["flight", "new york", "2013", "departure", "late"]:
        assert word not in card.lower(), word
