"""Marking rows indexed never waits for a row another statement holds: two marks of overlapping rows (a write's
own indexing and the repair pass) deadlocked in CI, each holding a row the other wanted. A held row is left
pending (the repair loop indexes it again), the others are marked."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from uuid import UUID

import asyncpg
import pytest
from pydantic import SecretStr

from memory_gateway.adapters.indexer import Indexer
from memory_gateway.adapters.tables import MEMORIES
from memory_gateway.domain.models import content_hash
from pma_core.embedders import HashingEmbedder
from pma_core.postgres import open_pool
from pma_core.settings import PostgresSettings
from pma_core.vectors import CollectionSpec, EdgeVectorStore


@pytest.fixture
async def pool(postgres_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await open_pool(PostgresSettings(url=SecretStr(postgres_url), pool_max_size=3))
    yield pool
    await pool.close()


@pytest.fixture
async def indexer(pool: asyncpg.Pool, tmp_path: Path) -> AsyncIterator[Indexer]:
    store = EdgeVectorStore(tmp_path / "qdrant")
    await store.ensure_collection(CollectionSpec("agent_memories", 32))
    yield Indexer(pool=pool, vectors=store, embedder=HashingEmbedder(32))
    await store.close()


async def _insert(pool: asyncpg.Pool, text: str) -> UUID:
    memory_id: UUID = await pool.fetchval(
        "INSERT INTO memories (user_id, kind, text, content_hash) VALUES ('alice', 'fact', $1, $2) RETURNING id",
        text,
        content_hash("fact", text),
    )
    return memory_id


async def test_a_row_another_statement_holds_is_left_pending_and_the_others_are_marked_at_once(
    pool: asyncpg.Pool, indexer: Indexer
) -> None:
    held = await _insert(pool, "The office closes at six")
    free = await _insert(pool, "Payroll runs on the 25th")
    rows = await indexer.load(MEMORIES, [held, free])
    async with pool.acquire() as other, other.transaction():
        await other.execute("SELECT 1 FROM memories WHERE id = $1 FOR UPDATE", held)
        assert await asyncio.wait_for(indexer.index(MEMORIES, rows), timeout=5)  # no wait on the held row
    marked = dict(await pool.fetch("SELECT id, indexed_at IS NOT NULL FROM memories WHERE id = ANY($1)", [held, free]))
    assert marked == {held: False, free: True}
    assert await indexer.repair([MEMORIES]) == 1  # the held row, indexed again once it is free
