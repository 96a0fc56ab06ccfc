"""A gateway whose Qdrant server does not answer when it starts: it starts all the same (Postgres is the source of
truth), `/readyz` names Qdrant, remember stores and recall answers from full-text search; once Qdrant answers,
the collections are set up and what was remembered meanwhile is indexed, with no restart. A collection of
another embedder found then keeps the gateway unready, saying so.

The first test runs qdrant-client against a loopback port nothing listens on (a real refused connection); the
others the embedded engine behind a switch that makes every call fail as an unreachable server does.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import httpx
import pytest

from memory_gateway.main import create_app
from memory_gateway.settings import Settings
from pma_core.embedded.process import free_port
from pma_core.settings import QdrantSettings
from pma_core.testing.serve import serve
from pma_core.vectors import (
    CollectionInfo,
    CollectionSpec,
    EdgeVectorStore,
    EnsureResult,
    VectorFilter,
    VectorHit,
    VectorPoint,
    VectorStore,
    VectorStoreUnreachableError,
)

T = TypeVar("T")

TEA = "Alice drinks oolong tea every morning"


class UnreachableUntilUp(EdgeVectorStore):
    """The embedded engine, every call of which fails as a Qdrant server that does not answer, until `up`."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.up = False

    def _answer(self) -> None:
        if not self.up:
            raise VectorStoreUnreachableError("Qdrant is unreachable: connection refused (switched off by the test)")

    async def ping(self) -> None:
        self._answer()
        await super().ping()

    async def ensure_collection(self, spec: CollectionSpec) -> EnsureResult:
        self._answer()
        return await super().ensure_collection(spec)

    async def collection_info(self, name: str) -> CollectionInfo | None:
        self._answer()
        return await super().collection_info(name)

    async def upsert(self, collection: str, points: Sequence[VectorPoint]) -> None:
        self._answer()
        await super().upsert(collection, points)

    async def search(
        self,
        collection: str,
        vector: Sequence[float],
        *,
        flt: VectorFilter,
        limit: int,
        score_threshold: float | None = None,
    ) -> list[VectorHit]:
        self._answer()
        return await super().search(collection, vector, flt=flt, limit=limit, score_threshold=score_threshold)

    async def retrieve(self, collection: str, ids: Sequence[str]) -> list[VectorPoint]:
        self._answer()
        return await super().retrieve(collection, ids)


async def _ready(http: httpx.AsyncClient) -> tuple[int, dict[str, Any]]:
    response = await http.get("/readyz")
    qdrant = next(d for d in response.json()["dependencies"] if d["name"] == "qdrant")
    return response.status_code, qdrant


async def _until(read: Callable[[], Awaitable[T]], holds: Callable[[T], bool], *, seconds: float = 10.0) -> T:
    """What `read` answers once `holds` (the set-up and the repair loop run every 0.2 s here)."""
    async with asyncio.timeout(seconds):
        while True:
            value = await read()
            if holds(value):
                return value
            await asyncio.sleep(0.05)


async def _remember_and_recall(http: httpx.AsyncClient) -> tuple[str, dict[str, Any]]:
    stored = await http.post("/v1/remember", json={"user_id": "alice", "text": TEA, "kind": "fact"})
    assert stored.status_code == 201, stored.text
    found = await http.post("/v1/recall", json={"user_id": "alice", "query": "oolong tea", "use_cache": False})
    assert found.status_code == 200, found.text
    return stored.json()["memory"]["id"], found.json()


async def test_with_no_qdrant_server_answering_the_gateway_starts_and_serves_from_postgres(
    gateway_settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    settings = gateway_settings.model_copy(
        update={"qdrant": QdrantSettings(url=f"http://127.0.0.1:{free_port()}", timeout_seconds=1)}
    )
    with caplog.at_level(logging.WARNING, logger="memory_gateway"):
        async with serve(create_app(settings)) as url, httpx.AsyncClient(base_url=url, timeout=10.0) as http:
            assert (await http.get("/healthz")).status_code == 200
            code, qdrant = await _ready(http)
            assert code == 503
            assert qdrant["status"] == "fail"
            assert "did not answer" in qdrant["detail"]
            assert "unreachable" in qdrant["detail"]

            _, found = await _remember_and_recall(http)
            assert found["lexical_only"]
            assert [hit["memory"]["text"] for hit in found["hits"]] == [TEA]
    assert any("starts without it" in record.getMessage() for record in caplog.records)


@pytest.fixture
def qdrant(gateway_settings: Settings) -> UnreachableUntilUp:
    gateway_settings.qdrant.path.mkdir(parents=True, exist_ok=True)
    return UnreachableUntilUp(gateway_settings.qdrant.path)


@pytest.fixture
async def http(gateway_settings: Settings, qdrant: UnreachableUntilUp) -> AsyncIterator[httpx.AsyncClient]:
    def open_vectors(_: QdrantSettings) -> VectorStore:
        return qdrant

    app = create_app(gateway_settings, open_vectors=open_vectors)
    async with serve(app) as url, httpx.AsyncClient(base_url=url, timeout=10.0) as client:
        yield client


async def test_once_qdrant_answers_the_collections_are_made_and_what_was_remembered_meanwhile_is_indexed(
    http: httpx.AsyncClient, qdrant: UnreachableUntilUp, postgres_url: str
) -> None:
    code, _ = await _ready(http)
    assert code == 503
    memory_id, found = await _remember_and_recall(http)
    assert found["lexical_only"]

    qdrant.up = True
    _, ready = await _until(lambda: _ready(http), lambda answer: answer[0] == 200)
    assert ready["status"] == "ok"
    connection = await asyncpg.connect(postgres_url)
    try:
        indexed = "SELECT indexed_at IS NOT NULL FROM memories WHERE id = $1::uuid"
        await _until(lambda: connection.fetchval(indexed, memory_id), bool)
    finally:
        await connection.close()
    assert await qdrant.count("agent_memories") == 1
    again = (await http.post("/v1/recall", json={"user_id": "alice", "query": "oolong tea", "use_cache": False})).json()
    assert not again["lexical_only"]
    assert [hit["memory"]["text"] for hit in again["hits"]] == [TEA]


async def test_a_collection_of_another_embedder_found_once_qdrant_answers_keeps_the_gateway_unready(
    gateway_settings: Settings, qdrant: UnreachableUntilUp
) -> None:
    # Another gateway, with another embedder, made a collection while this one could not reach Qdrant.
    qdrant.up = True
    size = gateway_settings.embedding.hashing_dimensions
    await qdrant.ensure_collection(CollectionSpec(name="doc_chunks", size=size, embedder=f"openai:other:{size}"))
    qdrant.up = False

    def open_vectors(_: QdrantSettings) -> VectorStore:
        return qdrant

    async with (
        serve(create_app(gateway_settings, open_vectors=open_vectors)) as url,
        httpx.AsyncClient(base_url=url, timeout=10.0) as http,
    ):
        code, _ = await _ready(http)
        assert code == 503
        qdrant.up = True
        _, found = await _until(lambda: _ready(http), lambda answer: f"openai:other:{size}" in answer[1]["detail"])
        assert "pma reindex --recreate" in found["detail"]
        await asyncio.sleep(0.5)  # more set-up attempts' worth (one per 0.2 s): none may turn it ready
        assert (await _ready(http))[0] == 503
