"""ModelSpec: one YAML file per model gives its whole line.

``defs/models/<name>/defs.yaml`` names the feature table, the label, the windows, the net and
its search space, the gate, the segments, the monitoring thresholds and the schedule; the
component builds training, evaluation, gate and packaging, batch scoring, the drift report, the
performance check, the retrain and promotion sensors and the jobs (model_line/).
"""

from pathlib import Path
from typing import Literal, Self

import dagster as dg
import pydantic
from pydantic_core import PydanticCustomError

from factory_assets.components.model_spec_fields import (
    DataSpec,
    EvaluationSpec,
    GateSpec,
    Identifier,
    MonitoringSpec,
    ScheduleSpec,
    SegmentSpec,
    _f,
    parse_date,
)
from factory_assets.components.model_spec_online import OnlineSpec
from factory_assets.components.model_spec_scaffold import ModelSpecScaffolder
from factory_assets.components.model_spec_training import SearchSpec, SplitSpec, TrainingSpec
from factory_assets.components.spec_loading import load_spec, locate, raise_bad, written_as
from factory_assets.lib.catalog import ColumnFacts, column_facts, warehouse_tables
from factory_assets.lib.model_line import SPLIT_DAY, ModelLine, Segments, Split
from factory_assets.lib.sources import Dataset
from factory_assets.lib.specs.errors import Locate, listing, rule, spec_error
from factory_assets.lib.tasks import METRICS, Task
from factory_assets.lib.training.dataset import ModelColumns

MANIFEST = Path(__file__).resolve().parents[2] / "dbt_project" / "target" / "manifest.json"


@dg.scaffold_with(ModelSpecScaffolder)
class ModelSpec(dg.Component, dg.Model):
    """A model and its whole line from one YAML file; the fields are the YAML schema."""

    name: Identifier = _f(text="The model: <name>_model, <name>_package, retrain_<name>, ...")
    description: str = _f(text="What it predicts, in the data's own words (the model card).")
    task: Literal["binary", "regression", "multiclass"] = _f(
        "binary",
        "What the label is: yes/no (binary), a number (regression), one of data.classes "
        "(multiclass). It sets the loss, the metrics, the gate and what is served.",
    )
    owners: list[str] = _f(["team:ml-platform"], "Owners of its assets.")
    data: DataSpec = _f(text="The table the model reads and which of its columns are what.")
    training: TrainingSpec = _f(
        TrainingSpec(), "Training window (or split), the architecture (mlp, gbdt, auto), its knobs."
    )
    search: SearchSpec | None = _f(None, "Optional Optuna search.")
    evaluation: EvaluationSpec = _f(EvaluationSpec(), "The fixed holdout and its reports.")
    gate: GateSpec = _f(GateSpec(), "What a challenger must pass to become champion.")
    segments: SegmentSpec | None = _f(None, "Optional: one model per value of a column.")
    monitoring: MonitoringSpec = _f(MonitoringSpec(), "Drift, performance and retraining.")
    predictions_table: Identifier | None = _f(
        None, "Served predictions' table (<name>_predictions)."
    )
    schedule: ScheduleSpec | None = _f(None, "Optional: score and monitor on a cron.")
    online: OnlineSpec = _f(OnlineSpec(), "How the scoring service gets each input.")
    _where: Locate | None = pydantic.PrivateAttr(default=None)

    @pydantic.model_validator(mode="after")
    def _windows(self) -> Self:
        t, e = self.training, self.evaluation
        windows = {
            ("training", "train_start"): t.train_start,
            ("training", "train_end"): t.train_end,
            ("evaluation", "holdout_start"): e.holdout_start,
            ("evaluation", "holdout_end"): e.holdout_end,
        }
        if self.data.date is None:
            for at, value in windows.items():
                if value is not None:
                    raise rule("set, but the model has no data.date: it trains on its key-hash "
                               "split", "unset (tune training.split)", at=at)  # fmt: skip
            return self
        if t.split is not None:
            raise rule("set, but the model has data.date: its windows are dates",
                       "unset, or omit data.date", at=("training", "split"))  # fmt: skip
        for at, value in windows.items():
            if parse_date(value) is None:
                problem = "missing; a model with data.date sets it" if value is None else (
                    f"{value!r} is not a date")  # fmt: skip
                raise rule(problem, "YYYY-MM-DD", at=at)
        if parse_date(t.train_start) > parse_date(t.train_end):
            raise rule("ends before training.train_start", "end >= start",
                       at=("training", "train_end"))  # fmt: skip
        if parse_date(e.holdout_start) > parse_date(e.holdout_end):
            raise rule(
                "ends before holdout_start", "end >= start", at=("evaluation", "holdout_end")
            )
        return self

    @pydantic.model_validator(mode="after")
    def _search_tunes_the_net(self) -> Self:
        if self.search is not None and self.training.architecture == "gbdt":
            raise rule("a search tunes the net's knobs, and architecture gbdt trains no net",
                       "architecture mlp or auto (the search tunes auto's mlp candidate), or "
                       "no search", at=("training", "architecture"))  # fmt: skip
        return self

    @pydantic.model_validator(mode="after")
    def _inputs_named(self) -> Self:
        inputs = self.data.inputs
        named = {
            ("monitoring", "drift", "ignore"): self.monitoring.drift.ignore,
            ("evaluation", "report_segments"): self.evaluation.report_segments,
        }
        for at, columns in named.items():
            for i, column in enumerate(columns):
                if column not in inputs:
                    raise rule(f"{column!r} is not an input", listing(sorted(inputs)), at=(*at, i))
        self.online.check(inputs)
        if self.segments is not None and self.segments.fallback == self.name:
            raise rule("a model cannot fall back on itself", "another model",
                       at=("segments", "fallback"))  # fmt: skip
        return self

    @pydantic.model_validator(mode="after")
    def _task(self) -> Self:
        classes = self.data.classes
        if self.task == "multiclass" and (classes is None or len(classes) < 3):  # noqa: PLR2004
            raise rule("a multiclass model lists its label's classes",
                       "three or more distinct values", at=("data", "classes"))  # fmt: skip
        if self.task != "multiclass" and classes is not None:
            raise rule(f"set, but the task is {self.task}", "unset, or task: multiclass",
                       at=("data", "classes"))  # fmt: skip
        if classes is not None and len(set(classes)) != len(classes):
            raise rule("a class is listed twice", "distinct values", at=("data", "classes"))
        allowed = listing(self.task_spec().metric_names)
        if self.gate.metric is not None and self.gate.metric not in METRICS[self.task]:
            raise rule(f"{self.gate.metric!r} is no {self.task} metric", allowed,
                       at=("gate", "metric"))  # fmt: skip
        for at, floors in {
            ("gate", "floors"): self.gate.floors,
            ("monitoring", "performance", "floors"): self.monitoring.performance.floors,
        }.items():
            for metric in floors or {}:
                if metric not in METRICS[self.task]:
                    raise rule(f"{metric!r} is no {self.task} metric", allowed, at=(*at, metric))
        for i, column in enumerate(self.evaluation.leakage.allow):
            if column not in self.data.inputs:
                raise rule(f"{column!r} is not an input", listing(sorted(self.data.inputs)),
                           at=("evaluation", "leakage", "allow", i))  # fmt: skip
        return self

    def task_spec(self) -> Task:
        """The Task of this spec (lib/tasks.py): its kind and classes."""
        return Task(self.task, tuple(self.data.classes or ()))

    def gate_floors(self) -> dict[str, float]:
        """The gate's floors: the spec's, or the task's defaults."""
        floors = self.gate.floors
        return dict(floors) if floors is not None else self.task_spec().default_floors

    def performance_floors(self) -> dict[str, float]:
        """The performance check's floors: the spec's, or the gate's."""
        floors = self.monitoring.performance.floors
        return dict(floors) if floors is not None else self.gate_floors()

    @classmethod
    def get_model_cls(cls) -> type[pydantic.BaseModel]:
        """The attributes as written (``load`` validates them); the JSON schema is the spec's."""
        return written_as(cls)

    @classmethod
    def load(cls, attributes: pydantic.BaseModel | None, context: dg.ComponentLoadContext) -> Self:
        """The spec, once valid; BadSpec names the file, line, field and what is allowed."""
        where = locate(context)
        spec = load_spec(cls, attributes, where)
        spec._where = where  # for the rules build_defs checks against the warehouse and sources
        return spec

    def build_defs(self, context: dg.ComponentLoadContext) -> dg.Definitions:
        """Check the spec against the warehouse and sources, then build its whole line."""
        from factory_assets.components.model_line.build import build_line
        from factory_assets.specs import known_datasets

        known = known_datasets(context.component_tree)
        line = self.line(context.path / "defs.yaml", warehouse_tables(MANIFEST), known)
        return build_line(self, line)

    def line(
        self,
        source: Path,
        tables: dict[str, tuple[str, ...]],
        known: dict[str, Dataset] | None = None,
        facts: dict[str, dict[str, ColumnFacts]] | None = None,
    ) -> ModelLine:
        """The ModelLine this spec describes; SpecError names file, field and what is allowed.

        Its calendar (or batches) is its dataset's: ``data.dataset``, or the one dataset with
        periods or batches that its feature table is built from (``known``: the shipped
        sources' datasets by default). The label is checked against what its column declares
        (``facts``: the dbt manifest's data_type and accepted values by default).
        """
        from factory_assets.components.model_spec_checks import (
            check_label,
            check_tables,
            check_time_axis,
            resolve_dataset,
        )

        if known is None:
            from factory_assets.specs import shipped_datasets

            known = shipped_datasets()
        try:
            check_tables(self, tables)
            check_label(self, column_facts(MANIFEST) if facts is None else facts)
            dataset = resolve_dataset(self, known)
            check_time_axis(self, dataset, tables)
        except PydanticCustomError as err:
            raise_bad(self.broken(err, self._where or (lambda _: str(source))))
        return self._line(dataset)

    def broken(self, err: PydanticCustomError, where: Locate) -> Exception:
        """The SpecError of a rule the spec breaks, as every other spec error reads."""
        error = pydantic.ValidationError.from_exception_data(
            type(self).__name__, [{"type": err, "loc": (), "input": None}]
        )
        return spec_error(error, type(self), where)

    def _line(self, dataset: Dataset) -> ModelLine:
        d, s = self.data, self.segments
        segments = Segments(s.column, tuple(s.values), s.min_rows, s.fallback) if s else None
        return ModelLine(
            name=self.name,
            features=d.features,
            columns=ModelColumns(
                d.key, d.date or SPLIT_DAY, d.label, tuple(d.categorical), tuple(d.numeric)
            ),
            labels_from=d.labels_from,
            segments=segments,
            predictions=self.predictions_table or "",
            drift_ignore=tuple(self.monitoring.drift.ignore),
            dataset=dataset.name,
            calendar=dataset.calendar,
            label_lag=d.label_lag,
            description=self.description,
            batches=dataset.partitions_name if dataset.batched else None,
            batch_column=d.batch_column,
            split=self.split(),
            landing=dataset,
            task=self.task_spec(),
        )

    def split(self) -> Split | None:
        """The key-hash split of a model without ``data.date`` (None for a dated model)."""
        if self.data.date is not None:
            return None
        s = self.training.split or SplitSpec()
        return Split(s.val, s.holdout, self.training.seed)

    def windows(self) -> dict:
        """train_start, train_end, val_days, holdout_start, holdout_end: the spec's or split's."""
        split = self.split()
        if split is not None:
            return split.windows()
        t, e = self.training, self.evaluation
        return {
            "train_start": t.train_start,
            "train_end": t.train_end,
            "val_days": t.val_days,
            "holdout_start": e.holdout_start,
            "holdout_end": e.holdout_end,
        }
