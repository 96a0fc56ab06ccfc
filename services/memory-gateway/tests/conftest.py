"""The memory-gateway under test: served on a real port over real Postgres, Valkey and Qdrant.

Qdrant is the embedded engine (qdrant-edge) unless a test directory overrides `vector_adapter`: the
memories tests run on both engines the gateway can open in-process, so that recall and deduplication
do not depend on one adapter's behaviour.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from memory_gateway.main import VectorStoreOpener, create_app
from memory_gateway.settings import MemorySettings, Settings
from pma_core.clients import MemoryGatewayClient
from pma_core.settings import EmbeddingSettings, PostgresSettings, QdrantSettings, ValkeySettings
from pma_core.testing.serve import serve
from pma_core.vectors import VectorStore, open_vector_store


def vector_store_opener(adapter: str) -> VectorStoreOpener:
    """The embedded engine ("edge"), or qdrant-client's local mode ("qdrant-client-local") in the same directory."""
    if adapter == "edge":
        return open_vector_store
    if adapter != "qdrant-client-local":
        raise ValueError(f"unknown vector adapter {adapter!r}")

    def local(settings: QdrantSettings) -> VectorStore:
        # Imported here: the gateway must not load qdrant-client when it runs embedded (test_app.py).
        from pma_core.vectors.qdrant_server import QdrantClientVectorStore

        return QdrantClientVectorStore(path=settings.path)

    return local


@pytest.fixture
def vector_adapter() -> str:
    """The vector engine of the gateway under test; a directory's conftest may parametrise it."""
    return "edge"


@pytest.fixture
def gateway_settings(postgres_settings: PostgresSettings, valkey_settings: ValkeySettings, tmp_path: Path) -> Settings:
    return Settings(
        postgres=postgres_settings,
        valkey=valkey_settings,
        qdrant=QdrantSettings(path=tmp_path / "qdrant"),
        embedding=EmbeddingSettings(provider="hashing"),
        # The repair loop runs often in tests so that a repaired index can be observed quickly; reindexes may
        # follow each other (tests/reindex checks the cool-down with its own setting).
        memory=MemorySettings(index_repair_interval_seconds=0.2, reindex_cooldown_seconds=0.0),
    )


@pytest.fixture
async def gateway_url(gateway_settings: Settings, vector_adapter: str) -> AsyncIterator[str]:
    async with serve(create_app(gateway_settings, open_vectors=vector_store_opener(vector_adapter))) as url:
        yield url


@pytest.fixture
async def memory(gateway_url: str) -> AsyncIterator[MemoryGatewayClient]:
    """The typed client the planner and observer use, pointed at the gateway under test."""
    client = MemoryGatewayClient(gateway_url, timeout=10.0, retries=0)
    yield client
    await client.aclose()
