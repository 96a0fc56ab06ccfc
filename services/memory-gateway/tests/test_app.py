"""The memory-gateway app on real Postgres, Valkey and embedded Qdrant: health, readiness, OpenAPI."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from memory_gateway.main import create_app
from memory_gateway.settings import Settings
from pma_core.embedded.process import free_port
from pma_core.settings import EmbeddingSettings, PostgresSettings, QdrantSettings, ValkeySettings
from pma_core.testing.serve import serve
from pma_core.vectors import EdgeVectorStore

COLLECTIONS = {"doc_chunks", "events", "agent_memories", "daily_threads"}


def _settings(postgres: PostgresSettings, valkey: ValkeySettings, qdrant_path: Path) -> Settings:
    return Settings(
        postgres=postgres,
        valkey=valkey,
        qdrant=QdrantSettings(path=qdrant_path),
        embedding=EmbeddingSettings(provider="hashing", hashing_dimensions=64),
    )


@pytest.fixture
async def gateway(
    postgres_settings: PostgresSettings, valkey_settings: ValkeySettings, tmp_path: Path
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(_settings(postgres_settings, valkey_settings, tmp_path / "qdrant"))
    async with serve(app) as url, httpx.AsyncClient(base_url=url) as client:
        yield client


async def test_ready_with_postgres_valkey_and_qdrant(gateway: httpx.AsyncClient) -> None:
    response = await gateway.get("/readyz")
    assert response.status_code == 200
    report = response.json()
    assert report["service"] == "memory-gateway"
    assert report["status"] == "ok"
    assert {d["name"]: d["status"] for d in report["dependencies"]} == {
        "postgres": "ok",
        "valkey": "ok",
        "qdrant": "ok",
    }


async def test_serves_health_and_openapi(gateway: httpx.AsyncClient) -> None:
    assert (await gateway.get("/healthz")).json()["service"] == "memory-gateway"
    spec = (await gateway.get("/openapi.json")).json()
    assert spec["info"]["title"] == "memory-gateway"
    assert {"/healthz", "/readyz", "/metrics"} <= set(spec["paths"])
    assert (await gateway.get("/docs")).status_code == 200


async def test_creates_the_collections_with_the_embedders_size(
    postgres_settings: PostgresSettings, valkey_settings: ValkeySettings, tmp_path: Path
) -> None:
    qdrant_path = tmp_path / "qdrant"
    async with serve(create_app(_settings(postgres_settings, valkey_settings, qdrant_path))):
        pass
    store = EdgeVectorStore(qdrant_path)
    try:
        for name in COLLECTIONS:
            info = await store.collection_info(name)
            assert info is not None
            assert info.size == 64
    finally:
        await store.close()


async def test_valkey_down_is_degraded_not_down(postgres_settings: PostgresSettings, tmp_path: Path) -> None:
    dead_valkey = ValkeySettings(url=SecretStr(f"redis://127.0.0.1:{free_port()}/0"), socket_timeout_seconds=0.2)
    app = create_app(_settings(postgres_settings, dead_valkey, tmp_path / "qdrant"))
    async with serve(app) as url, httpx.AsyncClient(base_url=url) as client:
        response = await client.get("/readyz")
    assert response.status_code == 200
    report = response.json()
    assert report["status"] == "degraded"
    valkey = next(d for d in report["dependencies"] if d["name"] == "valkey")
    assert valkey["status"] == "degraded"
    assert valkey["detail"]


def test_embedded_default_loads_neither_qdrant_client_nor_openai() -> None:
    # Each costs tens of MB; the seed's budget for this service is 150 MB (see docs/benchmarks.md).
    import subprocess
    import sys

    code = "import sys, memory_gateway.main; print(sorted({'qdrant_client', 'openai'} & set(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
