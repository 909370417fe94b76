"""Fixtures of the production tier: a real PostgreSQL server, fresh databases, a prod instance.

Without a reachable server the Postgres tests skip with a message that says how to run them;
with FACTORY_REQUIRE_POSTGRES=1 (set by .ci/run) the skip becomes a failure, so CI cannot pass
without them. The server is found through the libpq variables PGHOST, PGPORT, PGUSER,
PGPASSWORD (default 127.0.0.1:5432, user postgres, no password).
"""

import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT

REQUIRE_VAR = "FACTORY_REQUIRE_POSTGRES"
HOW_TO_RUN = (
    "start PostgreSQL 15 (e.g. `pg_ctlcluster 15 main start`) or point PGHOST/PGPORT/PGUSER/"
    "PGPASSWORD at a server where that user may CREATE DATABASE, then run "
    "`.venv/bin/pytest -m postgres`"
)


def postgres_settings() -> dict[str, str]:
    """Where the test server is: libpq's variables, else the local default."""
    return {
        "host": os.environ.get("PGHOST", "127.0.0.1"),
        "port": os.environ.get("PGPORT", "5432"),
        "user": os.environ.get("PGUSER", "postgres"),
        "password": os.environ.get("PGPASSWORD", ""),
    }


def require_postgres(settings: dict[str, str]) -> None:
    """Return if the server answers; else skip, or fail where FACTORY_REQUIRE_POSTGRES=1."""
    import psycopg2

    try:
        psycopg2.connect(dbname="postgres", connect_timeout=3, **settings).close()
    except psycopg2.Error as err:
        message = (
            f"no PostgreSQL at {settings['host']}:{settings['port']} "
            f"({str(err).strip().splitlines()[0]}): {HOW_TO_RUN}"
        )
        if os.environ.get(REQUIRE_VAR) == "1":
            pytest.fail(f"{message}. {REQUIRE_VAR}=1: these tests must run here.", pytrace=False)
        pytest.skip(message)


def admin(settings: dict[str, str], sql: str) -> None:
    """Run ``sql`` on the server's ``postgres`` database, outside a transaction."""
    import psycopg2

    conn = psycopg2.connect(dbname="postgres", **settings)
    conn.autocommit = True  # CREATE/DROP DATABASE cannot run in a transaction
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
    finally:
        conn.close()


@pytest.fixture(scope="session")
def postgres() -> dict[str, str]:
    """The settings of a reachable server (or skip/fail, see require_postgres)."""
    settings = postgres_settings()
    require_postgres(settings)
    return settings


@pytest.fixture(scope="module")
def new_database(postgres: dict[str, str]) -> Iterator[Callable[[str], str]]:
    """A factory of fresh, uniquely named databases, all dropped after the module."""
    made: list[str] = []

    def make(label: str) -> str:
        name = f"factory_test_{label}_{uuid.uuid4().hex[:8]}"
        admin(postgres, f'create database "{name}"')
        made.append(name)
        return name

    yield make
    for name in made:
        admin(postgres, f'drop database if exists "{name}" with (force)')


def mlflow_uri(settings: dict[str, str], database: str) -> str:
    """The MLflow tracking/registry URI of a database on the server (psycopg2 driver)."""
    auth = settings["user"] + (f":{settings['password']}" if settings["password"] else "")
    return f"postgresql://{auth}@{settings['host']}:{settings['port']}/{database}"


@pytest.fixture(scope="module")
def prod_env(
    postgres: dict[str, str],
    new_database: Callable[[str], str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[dict[str, str]]:
    """DAGSTER_HOME with deploy/dagster.yaml on a fresh database; MLflow on its own database.

    Only environment variables differ from the embedded tier, as in production.
    """
    home = tmp_path_factory.mktemp("prod_home")
    shutil.copy(ROOT / "deploy" / "dagster.yaml", home / "dagster.yaml")
    env = {
        "DAGSTER_HOME": str(home),
        "DAGSTER_PG_HOST": postgres["host"],
        "DAGSTER_PG_PORT": postgres["port"],
        "DAGSTER_PG_USER": postgres["user"],
        "DAGSTER_PG_PASSWORD": postgres["password"],
        "DAGSTER_PG_DB": new_database("dagster"),
        "FACTORY_MLFLOW_TRACKING_URI": mlflow_uri(postgres, new_database("mlflow")),
        "FACTORY_MLFLOW_ARTIFACTS": (Path(home) / "mlartifacts").as_uri(),
    }
    with pytest.MonkeyPatch.context() as mp:
        for name, value in env.items():
            mp.setenv(name, value)
        yield env
