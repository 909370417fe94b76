"""Every environment variable the product reads: names, types, defaults and what they do.

``settings()`` reads them (the process environment first, then a ``.env`` at the project root,
the file ``dg`` and ``dagster`` load too) into a validated ``Settings``; unset paths default to
folders of the project (``data/``, ``.factory/``), so every command works from a clone with
nothing exported. Dagster resources take a set variable as ``dg.EnvVar`` (``defs/resources.py``),
so it is resolved when a run starts and shown by name, not value, in the UI.

The README's table of these variables is generated from them (``python -m
factory_assets.spec_docs``); a test checks that the README holds it.
"""

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

if TYPE_CHECKING:
    from factory_assets.lib.lake import Lake

PROJECT_ROOT = Path(__file__).resolve().parents[1]
PREFIX = "FACTORY_"
RETRAIN_DEFAULT = "unset: each spec's `monitoring.retrain`"


def _shown(default: str, description: str, **kwargs: object) -> FieldInfo:
    """A field whose default is derived at validation; ``default`` is how the README shows it."""
    return Field(None, description=description, json_schema_extra={"shown": default}, **kwargs)


class Settings(BaseSettings):
    """The product's settings, from ``FACTORY_*`` variables.

    Booleans read as pydantic's bool: ``1``/``true``/``yes``/``on`` and their opposites, any
    case; anything else is an error. An empty variable counts as unset.
    """

    model_config = SettingsConfigDict(
        env_prefix=PREFIX, env_file=PROJECT_ROOT / ".env", env_ignore_empty=True, extra="ignore"
    )

    data_dir: Path = Field(
        PROJECT_ROOT / "data",
        description="landing zone root (`landing/<source>/…` as each source spec says)",
    )
    state_dir: Path = Field(
        PROJECT_ROOT / ".factory",
        description="local state: warehouse, MLflow store, reports, results, online files",
    )
    warehouse: str | None = _shown(
        "$FACTORY_STATE_DIR/warehouse.sqlite",
        "the DuckLake warehouse's catalog: a SQLite file's path, or `postgres:<conninfo>` "
        "(password from `PGPASSWORD`); every station and dbt read and write through it",
    )
    warehouse_data: str | None = _shown(
        "$FACTORY_WAREHOUSE.files/ (SQLite)",
        "the lake's Parquet files: a folder, or `s3://…` (credentials from `AWS_*`); required "
        "with a Postgres catalog",
    )
    mlflow_tracking_uri: str | None = _shown(
        "sqlite:///$FACTORY_STATE_DIR/mlflow.db",
        "MLflow tracking store and model registry (`postgresql://…` in production)",
        repr=False,  # a server URI may hold a password
    )
    mlflow_artifacts: str | None = _shown(
        "file://$FACTORY_STATE_DIR/mlartifacts",
        "where new experiments keep their artifacts (a path, or `s3://…` in production)",
    )
    reports_dir: Path | None = _shown(
        "$FACTORY_STATE_DIR/reports", "Evidently HTML reports and the monitoring plot, per model"
    )
    results_dir: Path | None = _shown(
        "$FACTORY_STATE_DIR/model_results",
        "the model stations' results (run ids, metrics, windows) as JSON, one file per asset "
        "and segment",
    )
    online_dir: Path | None = _shown(
        "$FACTORY_STATE_DIR/online",
        "online feature snapshots and shadow logs (written by the line, read by the service)",
    )
    executor: Literal["multiprocess", "in_process", "k8s"] = Field(
        "multiprocess",
        description="how a run executes its steps: `multiprocess` (4 at once, each forked from a "
        "server that loaded the line once per run), `in_process`, `k8s` (a pod per step)",
    )
    step_nice: int = Field(
        10,
        ge=0,
        le=19,
        description="niceness of a step that opens the warehouse (Unix `nice`, set once per step "
        "process): on a shared machine readers, notebooks and the UI get the CPU first; 0: "
        "steps run at normal priority",
    )
    sensor_interval_s: int = Field(
        30, ge=1, description="seconds between two evaluations of a monitoring sensor"
    )
    retrain_cooldown_days: int | None = _shown(
        RETRAIN_DEFAULT,
        "days after a retrain before the next may start, for every model",
        ge=0,
    )
    retrain_train_days: int | None = _shown(
        RETRAIN_DEFAULT, "days a retrain trains on, for every model", ge=1
    )
    retrain_val_days: int | None = _shown(
        RETRAIN_DEFAULT, "days after them a retrain validates on, for every model", ge=1
    )
    retrain_holdout_days: int | None = _shown(
        RETRAIN_DEFAULT,
        "days before the failed day a retrain is gated on, for every model",
        ge=1,
    )
    retrain_every_days: int | None = _shown(
        RETRAIN_DEFAULT,
        "days (batches) after a retrain before a scheduled one, for every model (0: none)",
        ge=0,
    )
    retrain_on_drift: bool | None = _shown(
        RETRAIN_DEFAULT, "whether a failed drift check retrains, for every model"
    )
    retrain_on_performance: bool | None = _shown(
        RETRAIN_DEFAULT, "whether a failed performance check retrains, for every model"
    )
    retrain_on_estimate: bool | None = _shown(
        RETRAIN_DEFAULT, "whether an estimate before labels past a bound retrains, every model"
    )
    dbt_subprocess: bool = Field(
        False, description="`true`: dbt runs as dagster-dbt's subprocess, not in the step's process"
    )
    dbt_keep_targets: int = Field(
        20,
        ge=0,
        description="dbt build folders (compiled SQL, run results, log; ~3 MB each) kept in the "
        "project's `target/`; older ones are removed after each build",
    )
    serve_models: Annotated[tuple[str, ...], NoDecode] = Field(
        (),
        description="models the service serves (comma-separated); empty: every model spec under "
        "factory_assets/defs/models/ and every model with an online snapshot",
    )
    serve_poll_seconds: float = Field(
        30.0, gt=0, description="how often the service checks the registry's aliases and snapshot"
    )
    serve_shadow: bool = Field(
        False, description="`true`: the service scores the `challenger` in shadow and logs both"
    )
    serve_max_rows: int = Field(1000, ge=1, description="rows per request (413 above)")
    serve_max_body_bytes: int = Field(1_048_576, ge=1, description="request body (413 above)")
    serve_token: SecretStr | None = _shown(
        "unset (no auth)", "bearer token the service requires on `/v1/*`"
    )

    @field_validator("serve_models", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(m.strip() for m in value.split(",") if m.strip())
        return value

    @model_validator(mode="after")
    def _state_defaults(self) -> "Settings":
        """Unset stores go under ``state_dir``; every path is made absolute (dbt runs elsewhere)."""
        state = self.state_dir = self.state_dir.absolute()
        self.data_dir = self.data_dir.absolute()
        self.warehouse = self.warehouse or str(state / "warehouse.sqlite")
        lake = self.lake()  # a clear error now for a setting that names no lake
        self.warehouse = lake.url.removeprefix("ducklake:")  # sqlite:<absolute path> or postgres:…
        self.reports_dir = (self.reports_dir or state / "reports").absolute()
        self.results_dir = (self.results_dir or state / "model_results").absolute()
        self.online_dir = (self.online_dir or state / "online").absolute()
        self.mlflow_tracking_uri = self.mlflow_tracking_uri or f"sqlite:///{state / 'mlflow.db'}"
        self.mlflow_artifacts = self.mlflow_artifacts or (state / "mlartifacts").as_uri()
        return self

    def lake(self) -> "Lake":
        """The warehouse's lake: catalog and data path."""
        from factory_assets.lib.lake import Lake

        return Lake.parse(self.warehouse, self.warehouse_data)

    def retrain_overrides(self) -> dict[str, int | bool]:
        """The ``FACTORY_RETRAIN_*`` fields that are set, by ``RetrainPolicy`` field name."""
        fields = ("cooldown_days", "train_days", "val_days", "holdout_days", "every_days",
                  "on_drift", "on_performance", "on_estimate")  # fmt: skip
        values = {f: getattr(self, f"retrain_{f}") for f in fields}
        return {f: v for f, v in values.items() if v is not None}


class InstanceSettings(BaseSettings):
    """Variables Dagster itself reads (``dagster.yaml``, ``deploy/dagster.yaml``).

    ``factory`` reads ``DAGSTER_HOME`` too (``dagster_home()``).
    """

    model_config = SettingsConfigDict(
        env_file=PROJECT_ROOT / ".env", env_ignore_empty=True, extra="ignore"
    )

    dagster_home: Path | None = _shown(
        "unset: `dg`/`dagster`: a temporary instance per command; `factory` and `make`: "
        "`$FACTORY_STATE_DIR/dagster_home`",
        "the Dagster instance (an absolute path): run history, schedules, sensors; `make` "
        "copies `dagster.yaml` there",
    )
    dagster_pg_host: str | None = _shown("unset", "production instance's Postgres host")
    dagster_pg_port: str | None = _shown("unset", "its port")
    dagster_pg_user: str | None = _shown("unset", "its user")
    dagster_pg_password: SecretStr | None = _shown("unset", "its password (a secret)")
    dagster_pg_db: str | None = _shown("unset", "its database (`deploy/dagster.yaml`)")


class SettingsError(ValueError):
    """A variable is set to a value its setting does not accept."""


def settings() -> Settings:
    """The settings now: read at each call, so a changed environment is seen.

    Raises:
        SettingsError: naming each bad variable, its value (secrets left out) and the reason.
    """
    try:
        return Settings()
    except ValidationError as err:
        bad = []
        for error in err.errors():
            if not error["loc"]:  # a check across fields (the lake): no value shown, its
                bad.append(error["msg"])  # input is every setting, secrets too
                continue
            field = str(error["loc"][0])
            name = env_name(field) if field in Settings.model_fields else field
            secret = field in {"serve_token", "mlflow_tracking_uri"}
            shown = "" if secret else f"={error['input']!r}"
            bad.append(f"{name}{shown}: {error['msg']}")
        raise SettingsError("bad setting: " + "; ".join(bad)) from None


def dagster_home() -> Path:
    """The Dagster instance of the ``factory`` commands: DAGSTER_HOME, else make's default."""
    home = InstanceSettings().dagster_home
    return (home or settings().state_dir / "dagster_home").absolute()


def env_name(field: str) -> str:
    """The variable of the ``Settings`` field ``field``."""
    if field not in Settings.model_fields:
        raise KeyError(f"no setting {field!r}; known: {sorted(Settings.model_fields)}")
    return f"{PREFIX}{field.upper()}"


@contextmanager
def lake_variables(catalog: str, data_path: str) -> Iterator[None]:
    """FACTORY_WAREHOUSE and FACTORY_WAREHOUSE_DATA set to these while inside; put back after.

    dbt reads its profile's variables from the process environment only (dbt_project/profiles.yml).
    """
    values = {env_name("warehouse"): catalog, env_name("warehouse_data"): data_path}
    before = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def exported(field: str) -> bool:
    """Whether the variable of ``field`` is set (non-empty) in this process's environment."""
    return bool(os.environ.get(env_name(field)))


def declared() -> set[str]:
    """Every variable name this module declares."""
    names = {env_name(f) for f in Settings.model_fields}
    return names | {f.upper() for f in InstanceSettings.model_fields}


def _default(field: FieldInfo) -> str:
    extra = field.json_schema_extra
    if isinstance(extra, dict) and "shown" in extra:
        shown = str(extra["shown"])
        return shown if shown.startswith(("unset", "`")) else f"`{shown}`"
    value = field.default
    if isinstance(value, Path):
        return f"`./{value.relative_to(PROJECT_ROOT)}`"
    if isinstance(value, tuple):
        return f"`{','.join(value)}`"
    return f"`{str(value).lower() if isinstance(value, bool) else value}`"


def rows() -> list[list[str]]:
    """The README's table (``factory_assets/spec_docs.py``): variable, default, what; ours first."""
    ours = [[env_name(n), f] for n, f in Settings.model_fields.items()]
    dagster = [[n.upper(), f] for n, f in InstanceSettings.model_fields.items()]
    return [[f"`{name}`", _default(f), f.description or ""] for name, f in ours + dagster]
