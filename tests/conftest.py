"""Fixtures shared by every test module.

Async tests run on anyio's pytest plugin (``@pytest.mark.anyio``) with the asyncio backend,
which is what uvicorn runs the gateway on.

Store tests run twice: on a SQLite file and on a real PostgreSQL server named by
``TEST_POSTGRES_URL`` (``.ci/run`` starts one; ``.ci/postgres.sh start`` does it by hand). Without
that variable the PostgreSQL half is skipped and the run ends by saying so plainly; with
``CI=true`` a missing server is an error, never a skip.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from gateway.store import Store, open_store

POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
_skipped_postgres: list[str] = []


def pytest_configure(config: pytest.Config) -> None:
    if IN_CI and not POSTGRES_URL:
        raise pytest.UsageError("CI=true but TEST_POSTGRES_URL is not set: CI must test the PostgreSQL store")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _skipped_postgres:
        terminalreporter.write_sep(
            "!",
            f"PostgreSQL half SKIPPED ({len(_skipped_postgres)} tests): TEST_POSTGRES_URL is not set. "
            'Run `bash .ci/run`, or `eval "$(bash .ci/postgres.sh start)"` first.',
            yellow=True,
        )


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def reset_postgres(url: str) -> None:
    """An empty public schema: every PostgreSQL test starts from nothing, like a fresh SQLite file."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute("DROP SCHEMA public CASCADE")
        connection.execute("CREATE SCHEMA public")


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty store of each kind."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'gateway.db'}"
        return
    if not POSTGRES_URL:
        _skipped_postgres.append(request.node.nodeid)
        pytest.skip("TEST_POSTGRES_URL is not set")
    reset_postgres(POSTGRES_URL)
    yield POSTGRES_URL


@pytest.fixture
def postgres_url() -> str:
    """A fresh PostgreSQL database, for tests that only make sense with several processes."""
    if not POSTGRES_URL:
        _skipped_postgres.append(os.environ.get("PYTEST_CURRENT_TEST", "postgres test"))
        pytest.skip("TEST_POSTGRES_URL is not set")
    reset_postgres(POSTGRES_URL)
    return POSTGRES_URL


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[Store]:
    opened = open_store(database_url, pool_size=12)
    await opened.migrate()
    try:
        yield opened
    finally:
        await opened.aclose()
