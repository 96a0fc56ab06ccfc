"""Rebuilding Qdrant from Postgres: in the running service, and with `pma reindex` after an embedder change."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from typer.testing import CliRunner

from memory_gateway.main import create_app
from memory_gateway.settings import Settings
from pma_core.clients import MemoryGatewayClient
from pma_core.contracts.memory import MemoryItem
from pma_core.settings import EmbeddingSettings
from pma_core.testing.serve import AppStartupError, serve
from pma_core.vectors import EdgeVectorStore

ITEMS = [
    MemoryItem(text="The Q1 newsletter goes out on Friday"),
    MemoryItem(text="Deep work happens before lunch", kind="preference"),
    MemoryItem(text="Dana approves the launch budget", kind="decision"),
]


async def _wait_done(http: httpx.AsyncClient) -> dict[str, object]:
    for _ in range(100):
        status: dict[str, object] = (await http.get("/v1/admin/reindex")).json()
        if status["state"] != "running":
            return status
        await asyncio.sleep(0.1)
    raise AssertionError("reindex did not finish")


async def test_the_running_service_rebuilds_its_index(memory: MemoryGatewayClient, gateway_url: str) -> None:
    await memory.remember_batch("alice", ITEMS)
    async with httpx.AsyncClient(base_url=gateway_url) as http:
        started = await http.post("/v1/admin/reindex", json={"collections": ["agent_memories"]})
        assert started.status_code == 202
        recall_meanwhile = await memory.recall("alice", "newsletter Friday", use_cache=False)
        status = await _wait_done(http)
    assert status["state"] == "done", status
    assert (status["done"], status["total"], status["collections"]) == (3, 3, ["agent_memories"])
    assert recall_meanwhile.hits[0].memory.text == "The Q1 newsletter goes out on Friday"
    after = await memory.recall("alice", "newsletter Friday", use_cache=False)
    assert after.hits[0].parts.dense_rank == 1


def _with_cooldown(settings: Settings, seconds: float) -> Settings:
    return settings.model_copy(
        update={"memory": settings.memory.model_copy(update={"reindex_cooldown_seconds": seconds})}
    )


async def test_a_reindex_cannot_start_again_within_its_cool_down(gateway_settings: Settings) -> None:
    assert Settings().memory.reindex_cooldown_seconds == 300  # the default
    async with serve(create_app(_with_cooldown(gateway_settings, 300))) as url, httpx.AsyncClient(base_url=url) as http:
        assert (await http.post("/v1/admin/reindex", json={})).status_code == 202
        assert (await _wait_done(http))["state"] == "done"
        again = await http.post("/v1/admin/reindex", json={})
        status = (await http.get("/v1/admin/reindex")).json()
    assert again.status_code == 429
    error = again.json()["error"]
    assert (error["code"], error["details"]["retry_after_seconds"]) == ("rate_limited", 300)
    assert again.headers["retry-after"] == "300"
    assert "MEMORY_REINDEX_COOLDOWN_SECONDS" in error["message"]
    assert status["state"] == "done"  # the refused call started nothing


async def test_without_a_cool_down_reindexes_may_follow_each_other(gateway_settings: Settings) -> None:
    async with serve(create_app(_with_cooldown(gateway_settings, 0))) as url, httpx.AsyncClient(base_url=url) as http:
        for _ in range(2):
            assert (await http.post("/v1/admin/reindex", json={})).status_code == 202
            assert (await _wait_done(http))["state"] == "done"


async def test_an_unknown_collection_is_422(gateway_url: str) -> None:
    # Every collection the system keeps is mirrored from a table of the gateway since daily_threads got
    # its table (006): only a name that is no collection is refused now (tests/threads rebuilds daily_threads).
    async with httpx.AsyncClient(base_url=gateway_url) as http:
        response = await http.post("/v1/admin/reindex", json={"collections": ["plans"]})
        status = (await http.get("/v1/admin/reindex")).json()
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"].startswith("body.collections")
    assert status["state"] == "idle"  # the refused request started no reindex


async def test_pma_reindex_recreates_collections_after_an_embedder_change(
    gateway_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with serve(create_app(gateway_settings)) as url:
        client = MemoryGatewayClient(url)
        await client.remember_batch("alice", ITEMS)
        await client.aclose()

    resized = gateway_settings.model_copy(
        update={"embedding": EmbeddingSettings(provider="hashing", hashing_dimensions=64)}
    )
    with pytest.raises(AppStartupError):  # 384-dimension collections, 64-dimension embedder: refused
        async with serve(create_app(resized)):
            pass

    monkeypatch.setenv("POSTGRES_URL", gateway_settings.postgres.url.get_secret_value())
    monkeypatch.setenv("QDRANT_PATH", str(gateway_settings.qdrant.path))
    monkeypatch.setenv("EMBEDDING_PROVIDER", "hashing")
    monkeypatch.setenv("EMBEDDING_HASHING_DIMENSIONS", "64")
    monkeypatch.setenv("MEMORY_GATEWAY_URL", "http://127.0.0.1:9")  # no gateway running: work locally
    import typer

    from memory_gateway.cli import reindex

    cli = typer.Typer()
    cli.command()(reindex)
    result = await asyncio.to_thread(CliRunner().invoke, cli, ["--recreate"])
    assert result.exit_code == 0, result.output
    assert "reindexed 3 rows" in result.output

    store = EdgeVectorStore(gateway_settings.qdrant.path)
    try:
        info = await store.collection_info("agent_memories")
    finally:
        await store.close()
    assert info is not None
    assert (info.size, info.points_count) == (64, 3)
    async with serve(create_app(resized)) as url:
        client = MemoryGatewayClient(url)
        hits = (await client.recall("alice", "launch budget", use_cache=False)).hits
        await client.aclose()
    assert hits[0].memory.text == "Dana approves the launch budget"
    assert hits[0].parts.dense_rank == 1
