"""From a feature table's rows to model tensors: vocabularies, scaling and missing flags.

The fitted Preprocessor is plain data (JSON): it travels with the packaged model, so scoring
needs this module and numpy, never the training code.
"""

import json
from dataclasses import asdict, dataclass, field

import numpy as np
import polars as pl

from factory_assets.lib.tasks import Task

SMALL_FRAME = 256  # rows up to which categorical codes come from Python dicts
SCALINGS = ("robust", "standard")
CLIP_QUANTILE = 0.001  # robust scaling clips each numeric to its training 0.1 % .. 99.9 %
IQR_TO_STD = 1.349  # a normal's interquartile range in standard deviations


@dataclass(frozen=True)
class ModelColumns:
    """Which columns of a feature table a model reads: key, date, label and inputs."""

    key: str
    date: str
    label: str
    categorical: tuple[str, ...]
    numeric: tuple[str, ...]

    @property
    def inputs(self) -> list[str]:
        """Every model input, categoricals first."""
        return [*self.categorical, *self.numeric]


@dataclass
class Preprocessor:
    """Maps feature rows to (categorical indices, scaled numerics), as fitted on training rows.

    Index 0 of every vocabulary is "unknown or missing"; a numeric null becomes the training
    centre (0 after scaling) and, for columns that had nulls in training, a 1 in a missing flag.
    A numeric becomes ``(clip(x) - means[c]) / stds[c]``: with ``scaling`` "robust" the centre
    is the median, the spread the interquartile range / 1.349 (the std where that is 0) and
    ``clips`` bounds each column to its training quantiles; "standard" (what a preprocessor
    saved before robust scaling reads as) is the mean and std, unclipped.
    """

    categorical: list[str] = field(default_factory=list)
    numeric: list[str] = field(default_factory=list)
    vocab: dict[str, list[str]] = field(default_factory=dict)
    means: dict[str, float] = field(default_factory=dict)
    stds: dict[str, float] = field(default_factory=dict)
    missing_flags: list[str] = field(default_factory=list)
    scaling: str = "standard"
    clips: dict[str, list[float]] = field(default_factory=dict)  # column -> [low, high]
    # what the model predicts (lib/tasks.py), recorded with it: the served outputs follow it
    task: str = "binary"
    classes: list[str] = field(default_factory=list)
    # regression: the net learns (label - label_mean) / label_std; the package serves label units
    label_mean: float = 0.0
    label_std: float = 1.0
    # binary/multiclass: the affine map of raw logits fitted on validation (calibration.py),
    # applied by every architecture's served head so that versions score on one scale
    calibration: dict[str, float] = field(default_factory=lambda: {"scale": 1.0, "shift": 0.0})

    @classmethod
    def fit(
        cls,
        frame: pl.DataFrame,
        columns: ModelColumns,
        task: Task | None = None,
        scaling: str = "robust",
    ) -> "Preprocessor":
        """Learn vocabularies and scaling (and a regression label's) from the training rows.

        Raises:
            ValueError: ``scaling`` is not one of SCALINGS.
        """
        if scaling not in SCALINGS:
            raise ValueError(f"scaling {scaling!r} is unknown; allowed: {', '.join(SCALINGS)}")
        task = task or Task()
        pre = cls(categorical=list(columns.categorical), numeric=list(columns.numeric))
        pre.scaling = scaling
        pre.task, pre.classes = task.kind, list(task.classes)
        if task.kind == "regression":
            label = frame[columns.label].cast(pl.Float64)
            pre.label_mean = float(label.mean() or 0.0)
            std = label.std()
            pre.label_std = float(std) if std and std > 0 else 1.0
        for column in pre.categorical:
            pre.vocab[column] = sorted(frame[column].drop_nulls().unique().to_list())
        for column in pre.numeric:
            values = frame[column].cast(pl.Float64)
            if scaling == "robust":
                values = pre._robust(column, values)
            else:
                pre.means[column] = float(values.mean() or 0.0)
            std = values.std()
            spread = pre.stds.get(column) or (float(std) if std and std > 0 else 1.0)
            pre.stds[column] = spread
            if values.null_count() > 0:
                pre.missing_flags.append(column)
        return pre

    def _robust(self, column: str, values: pl.Series) -> pl.Series:
        """Record the column's clip bounds, median and IQR-based spread; the clipped values."""
        low, high = values.quantile(CLIP_QUANTILE), values.quantile(1.0 - CLIP_QUANTILE)
        if low is None or high is None:  # no value at all: nothing to scale
            self.means[column] = 0.0
            return values
        self.clips[column] = [float(low), float(high)]
        values = values.clip(low, high)
        self.means[column] = float(values.median())
        iqr = values.quantile(0.75, "linear") - values.quantile(0.25, "linear")
        if iqr > 0:  # else: the std of the clipped values (fit), or 1
            self.stds[column] = float(iqr) / IQR_TO_STD
        return values

    @property
    def model_task(self) -> Task:
        """The Task the model was trained for."""
        return Task(self.task, tuple(self.classes))

    @property
    def cardinalities(self) -> list[int]:
        """Embedding table sizes, one per categorical column (vocabulary + unknown)."""
        return [len(self.vocab[c]) + 1 for c in self.categorical]

    @property
    def n_numeric(self) -> int:
        """Width of the numeric input: scaled columns then missing flags."""
        return len(self.numeric) + len(self.missing_flags)

    def transform(self, frame: pl.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """Categorical indices (int64, [n, n_cat]) and numerics (float32, [n, n_numeric])."""
        codes, numeric, bounds = self._compiled()
        if not self.categorical:  # numeric inputs only: an empty frame would lose the row count
            cat = np.zeros((frame.height, 0), dtype=np.int64)
        elif frame.height <= SMALL_FRAME:  # online requests: dict lookups beat building a join
            cat = np.array(
                [[codes[c].get(v, 0) for v in frame[c].to_list()] for c in self.categorical],
                dtype=np.int64,
            ).T.reshape(frame.height, len(self.categorical))
        else:
            cat = frame.select(
                pl.col(c).replace_strict(codes[c], default=0, return_dtype=pl.Int64)
                for c in self.categorical
            ).to_numpy()
        num = frame.select(numeric).to_numpy() if numeric else np.zeros((frame.height, 0))
        num = num.astype(np.float32)
        if bounds is not None:  # clipping the scaled float32 values: cheaper than in Polars,
            scaled = num[:, : len(self.numeric)]  # the same numbers (scaling is increasing)
            np.clip(scaled, *bounds, out=scaled)
        return cat.astype(np.int64), num

    def _compiled(self) -> tuple[dict[str, dict[str, int]], list[pl.Expr], tuple | None]:
        """Vocabulary indices, numeric expressions and the scaled clip bounds (None: no clip).

        Built once per fitted Preprocessor.
        """
        cache = self.__dict__.get("_compiled_cache")  # not a field: never in JSON or repr
        if cache is None:
            codes = {c: {v: i + 1 for i, v in enumerate(self.vocab[c])} for c in self.categorical}
            numeric = [
                *[
                    ((pl.col(c).cast(pl.Float64) - self.means[c]) / self.stds[c]).fill_null(0.0)
                    for c in self.numeric
                ],
                *[
                    pl.col(c).is_null().cast(pl.Float64).alias(f"{c}_missing")
                    for c in self.missing_flags
                ],
            ]
            bounds = None
            if self.clips:
                raw = np.array([self.clips.get(c, (-np.inf, np.inf)) for c in self.numeric])
                means = np.array([self.means[c] for c in self.numeric])
                stds = np.array([self.stds[c] for c in self.numeric])
                scaled = ((raw.T - means) / stds).astype(np.float32)  # float64 as the Polars path
                bounds = (scaled[0], scaled[1])
            cache = self.__dict__["_compiled_cache"] = (codes, numeric, bounds)
        return cache

    def to_json(self) -> str:
        """The fitted state as JSON."""
        return json.dumps(asdict(self), indent=1, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "Preprocessor":
        """Rebuild a fitted Preprocessor from ``to_json`` output."""
        return cls(**json.loads(text))
