"""What the service needs of a model spec, written with each of its online snapshots.

The service never loads the specs (nor the Dagster definitions): ``<name>_online_snapshot``
writes the model's ``Contract`` into ``contract.json`` of every snapshot, and the service serves
each model whose snapshot it finds under ``<online dir>/models/<name>/``.
"""

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

CONTRACT = "contract.json"


def model_root(online_dir: Path, name: str) -> Path:
    """Where model ``name``'s snapshots live (``CURRENT`` names the live one)."""
    return Path(online_dir) / "models" / name


@dataclass(frozen=True)
class Contract:
    """A model's request inputs, lookups, outputs, registered models and label, from its spec."""

    name: str
    features: str  # the feature table
    key: str
    date: str | None
    entity: list[str]  # the lookup keys a request sends
    request: list[str]  # inputs that come with the request
    categorical: list[str]
    numeric: list[str]
    task: str
    classes: list[str]
    label: str
    label_table: str  # where the label lands: labels_from, or the feature table
    segment_column: str | None = None
    segments: dict[str, str] = field(default_factory=dict)  # segment value -> registered model
    fallback: str | None = None
    function: str | None = None
    days: int = 7
    tolerance: float = 0.1
    unknown_categories: str = "reject"

    @classmethod
    def of(cls, spec, line) -> "Contract":  # noqa: ANN001 (ModelSpec, ModelLine)
        """The contract of a spec and its line."""
        d, o, s = spec.data, spec.online, spec.segments
        return cls(
            name=spec.name,
            features=d.features,
            key=d.key,
            date=d.date,
            entity=o.keys(d.key),
            request=list(o.request),
            categorical=list(d.categorical),
            numeric=list(d.numeric),
            task=spec.task,
            classes=list(d.classes or ()),
            label=d.label,
            label_table=d.labels_from or d.features,
            segment_column=s.column if s else None,
            segments={v: line.registry_name(v) for v in s.values} if s else {},
            fallback=s.fallback if s else None,
            function=o.function,
            days=o.days,
            tolerance=o.tolerance,
            unknown_categories=o.unknown_categories,
        )

    @property
    def registered(self) -> list[str]:
        """The registered models that serve it: its own, or its segments' and the fallback."""
        if not self.segment_column:
            return [self.name]
        return [*self.segments.values(), *([self.fallback] if self.fallback else [])]

    @property
    def lookups(self) -> list[str]:
        """The inputs looked up in the snapshot (every input not sent with the request)."""
        return [c for c in [*self.categorical, *self.numeric] if c not in self.request]

    def text(self) -> str:
        """The contract as JSON."""
        return json.dumps(asdict(self), indent=1, sort_keys=True)

    @classmethod
    def read(cls, directory: Path) -> "Contract":
        """The contract of a snapshot directory."""
        return cls(**json.loads((Path(directory) / CONTRACT).read_text()))
