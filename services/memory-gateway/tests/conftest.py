"""The memory-gateway under test: served on a real port over real Postgres, Valkey and embedded Qdrant."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from memory_gateway.main import create_app
from memory_gateway.settings import MemorySettings, Settings
from pma_core.clients import MemoryGatewayClient
from pma_core.settings import EmbeddingSettings, PostgresSettings, QdrantSettings, ValkeySettings
from pma_core.testing.serve import serve


@pytest.fixture
def gateway_settings(postgres_settings: PostgresSettings, valkey_settings: ValkeySettings, tmp_path: Path) -> Settings:
    return Settings(
        postgres=postgres_settings,
        valkey=valkey_settings,
        qdrant=QdrantSettings(path=tmp_path / "qdrant"),
        embedding=EmbeddingSettings(provider="hashing"),
        # The repair loop runs often in tests so that a repaired index can be observed quickly.
        memory=MemorySettings(index_repair_interval_seconds=0.2),
    )


@pytest.fixture
async def gateway_url(gateway_settings: Settings) -> AsyncIterator[str]:
    async with serve(create_app(gateway_settings)) as url:
        yield url


@pytest.fixture
async def memory(gateway_url: str) -> AsyncIterator[MemoryGatewayClient]:
    """The typed client the planner and observer use, pointed at the gateway under test."""
    client = MemoryGatewayClient(gateway_url, timeout=10.0, retries=0)
    yield client
    await client.aclose()
