"""The index repair pass is claimed across replicas: while one gateway is repairing (or reindexing), another
gateway's pass over the same database skips instead of embedding and writing the same rows again (with an
API embedder, every row would be paid for once per replica).

Each replica is an `Indexer` over its own pool; both write to one vector store, as gateways sharing a
Qdrant server do. The first replica's embedder waits at a gate, so the second acts while the first is
caught mid-pass: no timing is relied on.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import asyncpg
import pytest
from pydantic import SecretStr

from memory_gateway.adapters.indexer import Indexer
from memory_gateway.adapters.tables import MEMORIES
from memory_gateway.domain.models import content_hash
from pma_core.embedders import HashingEmbedder
from pma_core.postgres import open_pool
from pma_core.settings import PostgresSettings
from pma_core.vectors import CollectionSpec, EdgeVectorStore, VectorFilter

ROWS = 5


class GatedEmbedder(HashingEmbedder):
    """The hashing embedder, counting the texts it embeds; with a gate, each call first waits for it."""

    def __init__(self, *, gated: bool) -> None:
        super().__init__(32)
        self.texts = 0
        self.entered = asyncio.Event()
        self.gate = asyncio.Event()
        if not gated:
            self.gate.set()

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        self.texts += len(texts)
        self.entered.set()
        await self.gate.wait()
        return await super().embed(texts)


@pytest.fixture
async def pools(postgres_url: str) -> AsyncIterator[list[asyncpg.Pool]]:
    settings = PostgresSettings(url=SecretStr(postgres_url), pool_max_size=3)
    pools = [await open_pool(settings), await open_pool(settings)]
    yield pools
    for pool in pools:
        await pool.close()


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[EdgeVectorStore]:
    store = EdgeVectorStore(tmp_path / "qdrant")
    await store.ensure_collection(CollectionSpec("agent_memories", 32))
    yield store
    await store.close()


async def _pending_memories(pool: asyncpg.Pool) -> None:
    for n in range(ROWS):
        text = f"Fact number {n} about the invoices"
        await pool.execute(
            "INSERT INTO memories (user_id, kind, text, content_hash) VALUES ('alice', 'fact', $1, $2)",
            text,
            content_hash("fact", text),
        )


async def test_a_second_replicas_repair_pass_skips_the_rows_the_first_is_repairing(
    pools: list[asyncpg.Pool], store: EdgeVectorStore
) -> None:
    await _pending_memories(pools[0])
    slow, quick = GatedEmbedder(gated=True), GatedEmbedder(gated=False)
    first = Indexer(pool=pools[0], vectors=store, embedder=slow)
    second = Indexer(pool=pools[1], vectors=store, embedder=quick)
    repairing = asyncio.get_running_loop().create_task(first.repair([MEMORIES]))
    try:
        await asyncio.wait_for(slow.entered.wait(), 10)  # the first replica holds the rows, mid-pass

        assert await second.repair([MEMORIES]) == 0
        assert quick.texts == 0  # nothing embedded twice
    finally:
        slow.gate.set()
    assert await repairing == ROWS
    assert await store.count("agent_memories", VectorFilter(user_id="alice")) == ROWS
    assert await pools[1].fetchval("SELECT count(*) FROM memories WHERE indexed_at IS NULL") == 0

    assert await second.repair([MEMORIES]) == 0  # done: the next pass, on either replica, finds nothing
    assert quick.texts == 0


async def test_a_reindex_waits_for_another_replicas_repair_pass(
    pools: list[asyncpg.Pool], store: EdgeVectorStore
) -> None:
    await _pending_memories(pools[0])
    slow = GatedEmbedder(gated=True)
    first = Indexer(pool=pools[0], vectors=store, embedder=slow)
    second = Indexer(pool=pools[1], vectors=store, embedder=GatedEmbedder(gated=False))
    repairing = asyncio.get_running_loop().create_task(first.repair([MEMORIES]))
    await asyncio.wait_for(slow.entered.wait(), 10)

    async def rebuild() -> int:
        async with second.rebuilding:  # what a reindex holds for its whole run
            pending: int = await pools[1].fetchval("SELECT count(*) FROM memories WHERE indexed_at IS NULL")
            return pending

    rebuilding = asyncio.get_running_loop().create_task(rebuild())
    slow.gate.set()
    assert await repairing == ROWS
    assert await rebuilding == 0  # it began only once the other replica's pass had marked every row
