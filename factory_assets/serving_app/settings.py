"""Settings of the scoring service; the only module of the service that reads the environment.

The service runs outside Dagster (no Dagster import), so it cannot use ``defs/resources.py``;
the variables and defaults are the same ones the line uses.
"""

import os
from dataclasses import dataclass, field
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def _state_dir() -> Path:
    return Path(os.environ.get("FACTORY_STATE_DIR") or PROJECT_ROOT / ".factory")


def online_dir() -> Path:
    """Root of the online snapshots and shadow logs (FACTORY_ONLINE_DIR)."""
    return Path(os.environ.get("FACTORY_ONLINE_DIR") or _state_dir() / "online")


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Settings:
    """What the service serves, from where, and its limits."""

    tracking_uri: str
    online_dir: Path
    models: tuple[str, ...] = ("flights",)
    poll_seconds: float = 30.0
    shadow: bool = False
    max_rows: int = 1000
    max_body_bytes: int = 1_048_576
    token: str | None = field(default=None, repr=False)

    @classmethod
    def from_env(cls) -> "Settings":
        """Settings from FACTORY_* variables (see the README's configuration table)."""
        env = os.environ.get
        tracking = env("FACTORY_MLFLOW_TRACKING_URI") or f"sqlite:///{_state_dir() / 'mlflow.db'}"
        models = tuple(m.strip() for m in env("FACTORY_SERVE_MODELS", "flights").split(",") if m)
        return cls(
            tracking_uri=tracking,
            online_dir=online_dir(),
            models=models,
            poll_seconds=float(env("FACTORY_SERVE_POLL_SECONDS") or 30),
            shadow=_flag("FACTORY_SERVE_SHADOW"),
            max_rows=int(env("FACTORY_SERVE_MAX_ROWS") or 1000),
            max_body_bytes=int(env("FACTORY_SERVE_MAX_BODY_BYTES") or 1_048_576),
            token=env("FACTORY_SERVE_TOKEN") or None,
        )
