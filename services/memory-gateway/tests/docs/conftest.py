"""Fixtures for the document tests: a gateway that can be stopped, and what Postgres and Qdrant hold."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from uuid import UUID

import asyncpg
import pytest

from memory_gateway.main import create_app
from memory_gateway.settings import Settings
from pma_core.clients import MemoryGatewayClient
from pma_core.testing.serve import serve
from pma_core.vectors import EdgeVectorStore, VectorFilter

GatewayFactory = Callable[[], AbstractAsyncContextManager[MemoryGatewayClient]]


@pytest.fixture
def run_gateway(gateway_settings: Settings) -> GatewayFactory:
    """A gateway to run for part of a test: embedded Qdrant's files can be read only once it has stopped."""

    @asynccontextmanager
    async def running() -> AsyncIterator[MemoryGatewayClient]:
        async with serve(create_app(gateway_settings)) as url:
            client = MemoryGatewayClient(url, timeout=30.0, retries=0)
            try:
                yield client
            finally:
                await client.aclose()

    return running


DocPoints = Callable[[str, UUID, Sequence[UUID]], Awaitable[tuple[int, set[UUID]]]]


@pytest.fixture
def doc_points(gateway_settings: Settings) -> DocPoints:
    """(How many Qdrant points a document has, which of `chunk_ids` are points): call it while no gateway runs."""

    async def probe(user_id: str, document_id: UUID, chunk_ids: Sequence[UUID]) -> tuple[int, set[UUID]]:
        store = EdgeVectorStore(gateway_settings.qdrant.path)
        try:
            flt = VectorFilter(user_id=user_id, match={"document_id": str(document_id)})
            count = await store.count("doc_chunks", flt)
            present = await store.retrieve("doc_chunks", [str(chunk_id) for chunk_id in chunk_ids])
        finally:
            await store.close()
        return count, {UUID(point.id) for point in present}

    return probe


@pytest.fixture
def chunk_rows(postgres_url: str) -> Callable[[UUID], Awaitable[list[asyncpg.Record]]]:
    """A document's chunk rows as Postgres holds them, in order."""

    async def rows(document_id: UUID) -> list[asyncpg.Record]:
        conn = await asyncpg.connect(postgres_url)
        try:
            return await conn.fetch(
                "SELECT id, ordinal, heading_path, text, indexed_at FROM doc_chunks WHERE document_id = $1 "
                "ORDER BY ordinal",
                document_id,
            )
        finally:
            await conn.close()

    return rows
