"""Fixtures for the daily-thread tests: the gateway over an embedded Qdrant the test also holds, whose
writes can be made to fail, and what Postgres holds of a thread."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import asyncpg
import httpx
import pytest

from memory_gateway.main import create_app
from memory_gateway.settings import Settings
from pma_core.clients import MemoryGatewayClient
from pma_core.contracts.daily_threads import DailyThreadRead, DailyThreadUpsert, ThreadKind
from pma_core.settings import QdrantSettings
from pma_core.testing.serve import serve
from pma_core.vectors import EdgeVectorStore, VectorPoint, VectorStore, VectorStoreError

COLLECTION = "daily_threads"
MONDAY = date(2026, 11, 23)


class SwitchableQdrant(EdgeVectorStore):
    """The embedded engine, whose writes fail while `down` is set: Qdrant failing at write time, as the
    gateway sees it (reads keep working, as when only the write path breaks)."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.down = False

    async def upsert(self, collection: str, points: Sequence[VectorPoint]) -> None:
        if self.down:
            raise VectorStoreError("qdrant is down (switched off by the test)")
        await super().upsert(collection, points)


@pytest.fixture
def qdrant(gateway_settings: Settings) -> SwitchableQdrant:
    """The gateway's vector store, held by the test too: its points can be read while the gateway runs."""
    gateway_settings.qdrant.path.mkdir(parents=True, exist_ok=True)
    return SwitchableQdrant(gateway_settings.qdrant.path)


@pytest.fixture
async def gateway_url(gateway_settings: Settings, qdrant: SwitchableQdrant) -> AsyncIterator[str]:
    def open_vectors(_: QdrantSettings) -> VectorStore:
        return qdrant

    async with serve(create_app(gateway_settings, open_vectors=open_vectors)) as url:
        yield url


@pytest.fixture
async def http(gateway_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=gateway_url, timeout=10.0) as client:
        yield client


@pytest.fixture
async def db(postgres_url: str) -> AsyncIterator[asyncpg.Connection]:
    connection = await asyncpg.connect(postgres_url)
    yield connection
    await connection.close()


def thread(
    key: str,
    text: str,
    *,
    user_id: str = "alice",
    kind: ThreadKind = "daily",
    start: date = MONDAY,
    days: int = 1,
    **fields: Any,
) -> DailyThreadUpsert:
    """A thread covering `days` days from `start`."""
    return DailyThreadUpsert(
        user_id=user_id,
        key=key,
        kind=kind,
        period_start=start,
        period_end=start + timedelta(days=days - 1),
        text=text,
        **fields,
    )


async def upsert_all(memory: MemoryGatewayClient, threads: Sequence[DailyThreadUpsert]) -> dict[str, DailyThreadRead]:
    """Store the threads; the stored ones by key."""
    return {t.key: (await memory.upsert_daily_thread(t)).thread for t in threads}


async def point_ids(qdrant: EdgeVectorStore, ids: Sequence[UUID]) -> set[UUID]:
    """Which of `ids` have a point in the collection."""
    return {UUID(p.id) for p in await qdrant.retrieve(COLLECTION, [str(i) for i in ids])}
