"""No server: the Postgres tests skip and say how to run them; CI turns that into a failure."""

import socket

import pytest

from tests.production.conftest import REQUIRE_VAR, require_postgres


def _closed_port() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return str(sock.getsockname()[1])  # nothing listens once the socket is closed


@pytest.fixture
def nowhere() -> dict[str, str]:
    return {"host": "127.0.0.1", "port": _closed_port(), "user": "postgres", "password": ""}


def test_no_server_skips_with_how_to_run(nowhere, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.delenv(REQUIRE_VAR, raising=False)
    with pytest.raises(pytest.skip.Exception) as skipped:
        require_postgres(nowhere)
    assert f"127.0.0.1:{nowhere['port']}" in str(skipped.value)
    assert "pytest -m postgres" in str(skipped.value)


def test_no_server_fails_where_ci_requires_it(nowhere, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setenv(REQUIRE_VAR, "1")
    with pytest.raises(pytest.fail.Exception) as failed:
        require_postgres(nowhere)
    assert REQUIRE_VAR in str(failed.value)


def test_ci_requires_postgres() -> None:
    from tests.conftest import ROOT

    assert f"export {REQUIRE_VAR}=1" in (ROOT / ".ci" / "run").read_text()
