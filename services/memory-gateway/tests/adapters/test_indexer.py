"""A failed Qdrant write leaves the rows pending, never lost; the repair pass writes them later."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
from pydantic import SecretStr

from memory_gateway.adapters.indexer import Indexer
from memory_gateway.adapters.tables import MEMORIES
from memory_gateway.domain.models import content_hash
from pma_core.embedded.process import free_port
from pma_core.embedders import HashingEmbedder
from pma_core.postgres import open_pool
from pma_core.settings import PostgresSettings
from pma_core.vectors import CollectionSpec, EdgeVectorStore, VectorFilter
from pma_core.vectors.qdrant_server import QdrantClientVectorStore


@pytest.fixture
async def pool(postgres_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await open_pool(PostgresSettings(url=SecretStr(postgres_url), pool_max_size=2))
    yield pool
    await pool.close()


async def _insert(pool: asyncpg.Pool, text: str) -> object:
    return await pool.fetchval(
        "INSERT INTO memories (user_id, kind, text, content_hash) VALUES ('alice', 'fact', $1, $2) RETURNING id",
        text,
        content_hash("fact", text),
    )


async def test_unreachable_qdrant_leaves_rows_pending_then_repair_writes_them(
    pool: asyncpg.Pool, tmp_path: Path
) -> None:
    embedder = HashingEmbedder(32)
    memory_id = await _insert(pool, "Invoices go out on the first Monday")

    down = QdrantClientVectorStore(url=f"http://127.0.0.1:{free_port()}", timeout=0.5)
    try:
        failing = Indexer(pool=pool, vectors=down, embedder=embedder)
        assert await failing.index(MEMORIES, await failing.load(MEMORIES, [memory_id])) is False  # type: ignore[list-item]
        assert failing.failures == 1
    finally:
        await down.close()
    assert await pool.fetchval("SELECT indexed_at FROM memories WHERE id = $1", memory_id) is None

    store = EdgeVectorStore(tmp_path / "qdrant")
    try:
        await store.ensure_collection(CollectionSpec("agent_memories", 32))
        working = Indexer(pool=pool, vectors=store, embedder=embedder)
        assert await working.repair([MEMORIES]) == 1
        assert await store.count("agent_memories", VectorFilter(user_id="alice")) == 1
    finally:
        await store.close()
    assert await pool.fetchval("SELECT indexed_at FROM memories WHERE id = $1", memory_id) is not None


@pytest.fixture
async def working(pool: asyncpg.Pool, tmp_path: Path) -> AsyncIterator[tuple[Indexer, EdgeVectorStore]]:
    store = EdgeVectorStore(tmp_path / "qdrant")
    await store.ensure_collection(CollectionSpec("agent_memories", 32))
    yield Indexer(pool=pool, vectors=store, embedder=HashingEmbedder(32)), store
    await store.close()


async def test_a_row_changed_after_it_was_loaded_goes_back_to_pending_and_repair_writes_the_new_text(
    pool: asyncpg.Pool, working: tuple[Indexer, EdgeVectorStore]
) -> None:
    indexer, store = working
    memory_id = await _insert(pool, "Invoices go out on the first Monday")
    stale = await indexer.load(MEMORIES, [memory_id])  # type: ignore[list-item]
    # The text changes (as a PATCH does) and its own indexing lands first ...
    await pool.execute(
        "UPDATE memories SET text = 'Invoices go out on the last Friday', indexed_at = NULL WHERE id = $1", memory_id
    )
    assert await indexer.index(MEMORIES, await indexer.load(MEMORIES, [memory_id]))  # type: ignore[list-item]
    # ... then the slower writer of the old text: its point may now be the old text, so the row is pending again.
    assert await indexer.index(MEMORIES, stale)
    assert await pool.fetchval("SELECT indexed_at FROM memories WHERE id = $1", memory_id) is None

    assert await indexer.repair([MEMORIES]) == 1
    (point,) = await store.retrieve("agent_memories", [str(memory_id)])
    (fresh,) = await HashingEmbedder(32).embed(["Invoices go out on the last Friday"])
    assert point.vector == pytest.approx(fresh, abs=1e-6)
    assert await pool.fetchval("SELECT indexed_at FROM memories WHERE id = $1", memory_id) is not None


async def test_a_second_writer_of_the_same_version_leaves_the_mark_alone(
    pool: asyncpg.Pool, working: tuple[Indexer, EdgeVectorStore]
) -> None:
    indexer, _ = working
    memory_id = await _insert(pool, "Invoices go out on the first Monday")
    first, second = (await indexer.load(MEMORIES, [memory_id]), await indexer.load(MEMORIES, [memory_id]))  # type: ignore[list-item]
    assert await indexer.index(MEMORIES, first)
    marked = await pool.fetchval("SELECT indexed_at FROM memories WHERE id = $1", memory_id)
    assert marked is not None
    assert await indexer.index(MEMORIES, second)  # the repair loop, holding the row it loaded while pending
    assert await pool.fetchval("SELECT indexed_at FROM memories WHERE id = $1", memory_id) == marked
