"""A pool opened with `session_state=False` hands connections back without asyncpg's reset statement (one
round trip saved per release), and still rolls back a transaction left open; the default pool resets."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest
from pydantic import SecretStr

from pma_core.postgres import open_pool
from pma_core.settings import PostgresSettings

RESET = "SELECT pg_advisory_unlock_all()"


@pytest.fixture
async def table(postgres_url: str) -> AsyncIterator[str]:
    conn = await asyncpg.connect(postgres_url)
    await conn.execute("DROP TABLE IF EXISTS reset_probe; CREATE TABLE reset_probe (n int)")
    try:
        yield "reset_probe"
    finally:
        await conn.execute("DROP TABLE reset_probe")
        await conn.close()


async def _statements_of_one_fetch(postgres_url: str, *, session_state: bool) -> list[str]:
    """What the server was sent for one `pool.fetchval` (the statement, then what the release sent)."""
    sent: list[str] = []
    settings = PostgresSettings(url=SecretStr(postgres_url), pool_min_size=1, pool_max_size=1)
    pool = await open_pool(settings, session_state=session_state)
    try:
        async with pool.acquire() as connection:
            connection.add_query_logger(lambda query: sent.append(query.query))
        sent.clear()  # the logger is in place; from here on, only the fetch and its release
        assert await pool.fetchval("SELECT 41 + 1") == 42
    finally:
        await pool.close()
    return sent


async def test_a_transaction_scoped_pool_sends_no_reset_on_release(postgres_url: str) -> None:
    assert await _statements_of_one_fetch(postgres_url, session_state=False) == ["SELECT 41 + 1"]


async def test_the_default_pool_resets_the_session_on_release(postgres_url: str) -> None:
    sent = await _statements_of_one_fetch(postgres_url, session_state=True)
    assert sent[0] == "SELECT 41 + 1"
    assert any(RESET in statement for statement in sent[1:]), sent


async def test_a_transaction_left_open_is_still_rolled_back_on_release(postgres_url: str, table: str) -> None:
    settings = PostgresSettings(url=SecretStr(postgres_url), pool_min_size=1, pool_max_size=1)
    pool = await open_pool(settings, session_state=False)
    try:
        async with pool.acquire() as connection:
            # Not through `connection.transaction()`: a caller that began one by hand and never ended it.
            await connection.execute(f"BEGIN; INSERT INTO {table} VALUES (1)")
        async with pool.acquire() as connection:
            assert not connection.is_in_transaction()
            assert await connection.fetchval(f"SELECT count(*) FROM {table}") == 0
    finally:
        await pool.close()
