"""The write transaction of long-term memory: BEGIN and the user's advisory lock go in one round trip, with
the lock key every gateway takes for that user (`hashtext('pma.memories:' || user_id)`) whatever the id
holds; the block commits when it ends and rolls back when it raises."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest

from memory_gateway.adapters.memories import MemoryRepository, StoreSizes
from pma_core.postgres import open_pool
from pma_core.settings import PostgresSettings

AWKWARD_IDS = ["plain", "o'brien", "back\\slash", "dollar$$quote", "ünïcødé 用户", "'); SELECT 1; --"]


@pytest.fixture
async def repository(postgres_settings: PostgresSettings) -> AsyncIterator[MemoryRepository]:
    pool = await open_pool(postgres_settings, session_state=False)
    try:
        yield MemoryRepository(pool, sizes=StoreSizes())
    finally:
        await pool.close()


@pytest.fixture
async def other(postgres_url: str) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(postgres_url)
    await conn.execute("DROP TABLE IF EXISTS tx_probe; CREATE TABLE tx_probe (n int)")
    try:
        yield conn
    finally:
        await conn.execute("DROP TABLE tx_probe")
        await conn.close()


async def _lock_is_free(conn: asyncpg.Connection, user_id: str) -> bool:
    async with conn.transaction():
        free: bool = await conn.fetchval("SELECT pg_try_advisory_xact_lock(hashtext('pma.memories:' || $1))", user_id)
    return free


@pytest.mark.parametrize("user_id", AWKWARD_IDS)
async def test_the_transaction_holds_the_users_own_lock(
    repository: MemoryRepository, other: asyncpg.Connection, user_id: str
) -> None:
    async with repository.transaction(user_id) as tx:
        assert tx.conn.is_in_transaction()
        assert not await _lock_is_free(other, user_id)
        assert await _lock_is_free(other, user_id + "-someone-else")
    assert await _lock_is_free(other, user_id)


async def test_the_block_commits_when_it_ends(repository: MemoryRepository, other: asyncpg.Connection) -> None:
    async with repository.transaction("u1") as tx:
        await tx.conn.execute("INSERT INTO tx_probe VALUES (1)")
    assert await other.fetchval("SELECT count(*) FROM tx_probe") == 1


async def test_the_block_rolls_back_when_it_raises(repository: MemoryRepository, other: asyncpg.Connection) -> None:
    async def write_then_fail() -> None:
        async with repository.transaction("u1") as tx:
            await tx.conn.execute("INSERT INTO tx_probe VALUES (1)")
            raise RuntimeError("refused")

    with pytest.raises(RuntimeError, match="refused"):
        await write_then_fail()
    assert await other.fetchval("SELECT count(*) FROM tx_probe") == 0
    assert await _lock_is_free(other, "u1")
    # The connection went back clean: the next transaction on it starts fresh.
    async with repository.transaction("u1") as tx:
        assert await tx.conn.fetchval("SELECT count(*) FROM tx_probe") == 0
