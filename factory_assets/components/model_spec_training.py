"""The training fields of a model spec: the split, the architecture and its knobs, the search.

Part of the spec's fields (model_spec_fields.py), kept apart to keep each module short.
"""

from typing import Literal, Self

import dagster as dg
import pydantic

from factory_assets.components.model_spec_monitoring import spec_field as _f
from factory_assets.lib.specs.errors import listing, rule

SEARCHABLE = {"lr", "dropout", "hidden", "max_epochs", "batch_size", "weight_decay"}
MAX_SPLIT = 50  # percent of keys validation and holdout take together at most


class SplitSpec(dg.Model):
    """A model without data.date: percent of keys (by a seeded hash) that validate and hold out."""

    val: int = _f(15, "Percent of keys that validate (early stopping, search).", ge=1)
    holdout: int = _f(15, "Percent of keys held out (evaluation and the gate); the rest trains.",
                      ge=1)  # fmt: skip

    @pydantic.model_validator(mode="after")
    def _leaves_most_to_train(self) -> Self:
        if self.val + self.holdout > MAX_SPLIT:
            raise rule(f"val {self.val} % and holdout {self.holdout} % are impossible",
                       f"each >= 1, together <= {MAX_SPLIT}")  # fmt: skip
        return self


class GbdtSpec(dg.Model):
    """The gradient-boosted trees' recipe (LightGBM); the defaults are also the baseline's."""

    learning_rate: float = _f(0.05, "Shrinkage of each tree.", gt=0.0, le=1.0)
    max_trees: int = _f(500, "Trees at most (early stopping on validation ends sooner).",
                        ge=1, le=5000)  # fmt: skip
    num_leaves: int = _f(31, "Leaves per tree at most.", ge=2, le=4096)
    min_child_samples: int = _f(20, "Fewest training rows in a leaf.", ge=1)
    early_stopping: int = _f(
        30, "Trees without a better validation loss before training stops.", ge=1
    )
    num_threads: int = _f(2, "CPU threads LightGBM uses.", ge=1, le=64)


class TrainingSpec(dg.Model):
    """Training window (validation: the ``val_days`` after it), the architecture and its knobs."""

    train_start: str | None = _f(
        None, "First day of the training window (YYYY-MM-DD); required with data.date."
    )
    train_end: str | None = _f(None, "Last day of the training window; required with data.date.")
    split: SplitSpec | None = _f(
        None,
        "Without data.date only: the key-hash split (default 15 % validation, 15 % holdout, "
        "seeded by training.seed).",
    )
    val_days: int = _f(14, "Days after train_end that validate (early stopping, search).", ge=1)
    architecture: Literal["mlp", "gbdt", "blend", "auto"] = _f(
        "mlp",
        "mlp: embeddings for categories + an MLP (Lightning); gbdt: gradient-boosted trees "
        "(LightGBM, training.gbdt); blend: both, serving the mean of their predictions; auto: "
        "trains every one of training.candidates and sends the best on validation (val/score) "
        "to the gate.",
    )
    candidates: list[Literal["mlp", "gbdt", "blend"]] = _f(
        ["mlp", "gbdt", "blend"], "architecture auto: the architectures it trains and chooses "
        "from; blend (with mlp and gbdt) is the mean of their predictions, judged on the same "
        "validation rows, trained no further, served as one ONNX graph.",
        min_length=1,
    )  # fmt: skip
    gbdt: GbdtSpec = _f(GbdtSpec(), "The trees' recipe (architecture gbdt, or auto's gbdt).")
    hidden: list[pydantic.conint(ge=1)] = _f([64, 32], "Widths of the hidden layers.", min_length=1)
    dropout: float = _f(0.1, "Dropout between hidden layers.", ge=0.0, le=0.95)
    max_epochs: int = _f(30, "Epochs at most (early stopping ends sooner).", ge=1)
    patience: int = _f(4, "Epochs without a better validation metric before stopping (the "
                       "best epoch's weights are kept); 0: run max_epochs.", ge=0)  # fmt: skip
    monitor: Literal["score", "loss"] = _f("score", "Early stopping watches the task's primary "
                                           "validation metric, or the loss.")  # fmt: skip
    batch_size: int = _f(1024, "Rows per batch.", ge=1)
    lr: float = _f(2e-3, "AdamW peak learning rate.", gt=0.0)
    lr_schedule: Literal["cosine", "constant"] = _f("cosine", "One epoch of warm-up, then a "
                                                    "cosine decay to 2 % of lr.")  # fmt: skip
    weight_decay: float = _f(1e-4, "AdamW weight decay.", ge=0.0)
    scaling: Literal["robust", "standard"] = _f("robust", "Numerics: median/IQR, clipped to "
                                                "0.1-99.9 % (robust), or mean/std.")  # fmt: skip
    embedding_cap: int = _f(16, "Widest embedding (1.6 * size^0.56 per category).", ge=1)
    seed: int = _f(13, "Seed of the split, the weights and the batch order.")
    refit_on_all: bool = _f(
        True,
        "Once trained, the chosen model (and the baseline) is refitted with the same "
        "architecture and hyper-parameters on training + validation + holdout (gbdt: the "
        "early-stopped trees scaled to the rows; mlp: the best epoch's count; no calibration: "
        "the refit's own outputs), and the package serves the refit, so the served model has seen "
        "the newest labelled days. The gate's figures are the un-refit model's. Not with "
        "training.split.",
    )

    @pydantic.field_validator("candidates")
    @classmethod
    def _distinct_candidates(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise rule("a candidate is listed twice", "distinct architectures: mlp, gbdt, blend")
        if "blend" in value and not {"mlp", "gbdt"} <= set(value):
            raise rule("blend averages the mlp and gbdt candidates", "list mlp and gbdt with it")
        return value


class SearchSpec(dg.Model):
    """Optuna search: ``trials`` trials over ``space``, maximising validation AUROC."""

    trials: int = _f(text="Trials to run.", ge=1, le=500)
    space: dict[str, dict] = _f(text="Parameter -> {low, high} or {choices}.")

    @pydantic.field_validator("space")
    @classmethod
    def _space(cls, value: dict) -> dict:
        from factory_assets.lib.training.search import SearchSpace

        try:
            SearchSpace.parse(value, allowed=SEARCHABLE)
        except ValueError as err:
            allowed = (
                f"low < high (and log, int) or choices, for any of {listing(sorted(SEARCHABLE))}"
            )
            raise rule(str(err), None if "allowed:" in str(err) else allowed) from None
        return value
