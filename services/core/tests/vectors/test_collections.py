"""The system's four collections, set up through either adapter, and the settings-driven factory."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from pma_core.settings import QdrantSettings
from pma_core.testing.serve import serve
from pma_core.vectors import (
    COLLECTION_NAMES,
    EdgeVectorStore,
    VectorSizeMismatchError,
    VectorStoreError,
    VectorStoreUnreachableError,
    open_vector_store,
    setup_collections,
)
from pma_core.vectors.qdrant_server import QdrantClientVectorStore


# Only the temporary-directory adapters: these names are fixed, and a shared server may hold real data.
@pytest.mark.parametrize("adapter", ["edge", "qdrant-local"])
async def test_setup_creates_the_four_collections_once(adapter: str, tmp_path: Path) -> None:
    store = EdgeVectorStore(tmp_path) if adapter == "edge" else QdrantClientVectorStore(path=tmp_path)
    try:
        assert COLLECTION_NAMES == ("doc_chunks", "events", "agent_memories", "daily_threads")
        assert await setup_collections(store, size=24) == dict.fromkeys(COLLECTION_NAMES, "created")
        assert await setup_collections(store, size=24) == dict.fromkeys(COLLECTION_NAMES, "exists")
        for name in COLLECTION_NAMES:
            info = await store.collection_info(name)
            assert info is not None
            assert (info.size, info.distance) == (24, "cosine")
        with pytest.raises(VectorSizeMismatchError, match=r"'doc_chunks'.*size 24.*size 32.*pma reindex"):
            await setup_collections(store, size=32)
    finally:
        await store.close()


async def test_without_a_url_the_embedded_engine_is_used_and_its_directory_made(tmp_path: Path) -> None:
    settings = QdrantSettings(url=None, path=tmp_path / "data" / "qdrant")
    store = open_vector_store(settings)
    try:
        assert isinstance(store, EdgeVectorStore)
        assert settings.path.is_dir()
        await store.ping()
    finally:
        await store.close()


async def test_with_a_url_the_server_client_is_used_without_calling_it_yet() -> None:
    # Port 9 (discard) on loopback: nothing answers; construction must not call it, ping must fail.
    settings = QdrantSettings(url="http://127.0.0.1:9", api_key=SecretStr("k"), timeout_seconds=1)
    with pytest.warns(UserWarning, match="insecure connection"):  # the client's own, for a key over http
        store = open_vector_store(settings)
    try:
        assert isinstance(store, QdrantClientVectorStore)
        with pytest.raises(VectorStoreUnreachableError, match="unreachable"):
            await store.ping()
    finally:
        await store.close()


@pytest.mark.parametrize(("status", "unreachable"), [(503, True), (502, True), (504, True), (500, False)])
async def test_a_server_that_answers_an_outage_status_is_unreachable_and_any_other_failure_is_not(
    status: int, unreachable: bool
) -> None:
    # A proxy in front of a stopped Qdrant answers 502/503/504: an outage that passes, which the gateway
    # waits out; a 500 is Qdrant itself failing.
    async def answer(_: Request) -> Response:
        return JSONResponse({"status": {"error": "test"}}, status_code=status)

    async with serve(Starlette(routes=[Route("/collections", answer)])) as url:
        store = QdrantClientVectorStore(url=url, timeout=1)
        try:
            with pytest.raises(VectorStoreError, match=str(status)) as raised:
                await store.ping()
        finally:
            await store.close()
    assert isinstance(raised.value, VectorStoreUnreachableError) is unreachable
