"""Training and validation batches from a feature table's rows, split by date window."""

import datetime as dt

import lightning as L
import numpy as np
import polars as pl
import torch
from torch.utils.data import (
    BatchSampler,
    DataLoader,
    Dataset,
    RandomSampler,
    Sampler,
    SequentialSampler,
)

from factory_assets.lib.tasks import LabelError, Task
from factory_assets.lib.training.dataset import ModelColumns, Preprocessor


class _Tensors(Dataset):
    def __init__(self, cat: np.ndarray, num: np.ndarray, y: np.ndarray) -> None:
        self.cat, self.num = torch.from_numpy(cat), torch.from_numpy(num)
        # float32 targets, or int64 class ids (multiclass); torch wants a writable array
        self.y = torch.from_numpy(np.require(y, requirements="W"))

    def __len__(self) -> int:
        return len(self.y)

    def __getitem__(self, rows: list[int]) -> dict[str, torch.Tensor]:
        # a whole batch per call: indexing tensors once beats collating 1,024 single rows
        return {"cat": self.cat[rows], "num": self.num[rows], "y": self.y[rows]}


def in_window(
    frame: pl.DataFrame,
    window: tuple[dt.date, dt.date],
    columns: ModelColumns,
) -> pl.DataFrame:
    """Labelled rows whose date lies in [start, end]."""
    start, end = window
    return frame.filter(
        pl.col(columns.date).is_between(start, end), pl.col(columns.label).is_not_null()
    )


class TabularDataModule(L.LightningDataModule):
    """Fits the Preprocessor on the training window only; validates on the window after it.

    Labels become the ``task``'s targets (``Task.encode``): float32 0/1 or values, or int64
    class ids; a label that does not fit the task raises LabelError naming the window.
    """

    def __init__(
        self,
        frame: pl.DataFrame,
        train_window: tuple[dt.date, dt.date],
        val_window: tuple[dt.date, dt.date],
        *,
        columns: ModelColumns,
        seed: int,
        batch_size: int = 1024,
        task: Task | None = None,
        scaling: str = "robust",
    ) -> None:
        super().__init__()
        self.task = task or Task()
        self.frame, self.batch_size, self.columns = frame, batch_size, columns
        self.seed = seed  # the spec's training.seed: it orders the shuffled batches
        self.scaling = scaling  # of the numeric inputs (Preprocessor.fit)
        self.train_window, self.val_window = train_window, val_window
        self.preprocessor: Preprocessor | None = None

    def setup(self, stage: str | None = None) -> None:
        """Split by window and tensorise; idempotent."""
        if self.preprocessor is not None:
            return
        train, val = (
            in_window(self.frame, self.train_window, self.columns),
            in_window(self.frame, self.val_window, self.columns),
        )
        if train.height == 0 or val.height == 0:
            raise ValueError(
                f"no labelled rows in the training window {self.train_window} "
                f"or the validation window {self.val_window}"
            )
        y_train = self._targets(train, "training", self.train_window)
        y_val = self._targets(val, "validation", self.val_window)
        self.preprocessor = Preprocessor.fit(train, self.columns, self.task, self.scaling)
        self.train_set = _Tensors(*self.preprocessor.transform(train), y_train)
        self.val_set = _Tensors(*self.preprocessor.transform(val), y_val)

    def _targets(self, rows: pl.DataFrame, name: str, window: tuple) -> np.ndarray:
        """The task's targets of ``rows``; a LabelError names the window it read."""
        try:
            return self.task.encode(rows[self.columns.label])
        except LabelError as error:
            raise LabelError(f"{name} window {window[0]}..{window[1]}: {error}") from error

    def train_dataloader(self) -> DataLoader:
        """Shuffled by a generator seeded with ``seed``: one seed, one order of batches."""
        generator = torch.Generator().manual_seed(self.seed)
        order = RandomSampler(self.train_set, generator=generator)
        return self._loader(self.train_set, order, self.batch_size)

    def val_dataloader(self) -> DataLoader:
        """In order, larger batches."""
        return self._loader(self.val_set, SequentialSampler(self.val_set), self.batch_size * 4)

    @staticmethod
    def _loader(data: Dataset, order: Sampler, batch_size: int) -> DataLoader:
        batches = BatchSampler(order, batch_size=batch_size, drop_last=False)
        return DataLoader(data, sampler=batches, batch_size=None)
