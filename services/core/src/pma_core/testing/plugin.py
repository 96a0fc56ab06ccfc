"""pytest plugin (entry point `pytest11`): network guard and real-server fixtures.

Fixtures:
- `postgres_admin_url` (session): a real Postgres server (see `servers.py` for where it comes from).
- `postgres_template` (session): a database migrated once; test databases are cloned from it.
- `postgres_url`: a fresh, migrated database for this test alone, dropped afterwards.
- `postgres_settings`: `PostgresSettings` pointing at it.
- `valkey_url` (session) and `valkey_settings`: a real Valkey and settings with a key prefix
  unique to this test, so tests never see each other's keys.
- `fake_openai`: a loopback fake of the OpenAI/OpenRouter API and Langfuse ingestion (wire format,
  failures included), reset around each test.
Each test owning its database and prefix is what lets tests run in any order and in parallel.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import asyncpg
import pytest
from pydantic import SecretStr

from pma_core.migrations import default_migrations_dir, migrate
from pma_core.settings import PostgresSettings, ValkeySettings
from pma_core.testing.fixtures_llm import fake_openai, fake_openai_server
from pma_core.testing.network import NetworkGuard
from pma_core.testing.servers import postgres_server_url, valkey_server_url, with_database

T = TypeVar("T")
# Fixtures defined in sibling modules, registered through this plugin.
__all__ = ["fake_openai", "fake_openai_server"]
_guard = NetworkGuard()


def pytest_configure(config: pytest.Config) -> None:
    # Forbid real model calls in tests: only loopback fakes may answer.
    os.environ.setdefault("LLM_ALLOW_MODEL_REQUESTS", "false")
    os.environ.setdefault("PMA_ENVIRONMENT", "test")
    _guard.install()


def pytest_unconfigure(config: pytest.Config) -> None:
    _guard.uninstall()


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion from sync fixture code, on a thread of its own.

    A thread, because `asyncio.run` in the test's thread would replace the event loop that
    pytest-asyncio has set up for the test.
    """
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()


async def _execute(url: str, *statements: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


def _admin(url: str, statement: str) -> None:
    run_sync(_execute(url, statement))


@pytest.fixture(scope="session")
def postgres_admin_url() -> Iterator[str]:
    with postgres_server_url() as url:
        yield url


@pytest.fixture(scope="session")
def postgres_template(postgres_admin_url: str) -> Iterator[str]:
    name = f"pma_template_{uuid.uuid4().hex[:8]}"
    _admin(postgres_admin_url, f'CREATE DATABASE "{name}"')
    run_sync(migrate(with_database(postgres_admin_url, name), default_migrations_dir()))
    yield name
    _admin(postgres_admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def _clone_strategy(postgres_admin_url: str) -> str:
    """How each test's database is copied from the template: FILE_COPY where Postgres has it (15+), about
    0.15 s faster a test than the default WAL_LOG on the harness's fsync-off server (1,000 tests: 2.5 min)."""

    async def version() -> int:
        conn = await asyncpg.connect(postgres_admin_url)
        try:
            return int(await conn.fetchval("SHOW server_version_num"))
        finally:
            await conn.close()

    return " STRATEGY FILE_COPY" if run_sync(version()) >= 150000 else ""


@pytest.fixture
def postgres_url(postgres_admin_url: str, postgres_template: str, _clone_strategy: str) -> Iterator[str]:
    name = f"pma_test_{uuid.uuid4().hex[:12]}"
    _admin(postgres_admin_url, f'CREATE DATABASE "{name}" TEMPLATE "{postgres_template}"{_clone_strategy}')
    yield with_database(postgres_admin_url, name)
    _admin(postgres_admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def empty_postgres_url(postgres_admin_url: str) -> Iterator[str]:
    """A fresh database with no migrations applied, for tests of the migration runner."""
    name = f"pma_empty_{uuid.uuid4().hex[:12]}"
    _admin(postgres_admin_url, f'CREATE DATABASE "{name}"')
    yield with_database(postgres_admin_url, name)
    _admin(postgres_admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def postgres_settings(postgres_url: str) -> PostgresSettings:
    return PostgresSettings(url=SecretStr(postgres_url), pool_min_size=1, pool_max_size=4)


@pytest.fixture(scope="session")
def valkey_url() -> Iterator[str]:
    with valkey_server_url() as url:
        yield url


@pytest.fixture
def valkey_settings(valkey_url: str) -> ValkeySettings:
    # A longer socket timeout than production's 0.5 s (which degrades fast when Valkey hangs): the services
    # under test share two loaded cores with the test itself, and a stalled event loop outlasted 0.5 s in CI
    # (40 concurrent session appends, a 503 "Valkey does not answer"). The same for opening a connection:
    # those 40 appends open up to 40 at once, and one still failed in CI with only the socket timeout raised.
    # Tests of a dead Valkey set their own.
    return ValkeySettings(
        url=SecretStr(valkey_url),
        key_prefix=f"test:{uuid.uuid4().hex[:12]}:",
        socket_timeout_seconds=5.0,
        connect_timeout_seconds=5.0,
    )
