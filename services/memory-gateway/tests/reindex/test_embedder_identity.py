"""The embedder identity stamped on the collections: a gateway started with another embedder of the same
vector size refuses to start (its vectors would be compared with the old ones), naming both identities
and `pma reindex --recreate`; after that command it starts. Collections made before identities were
kept are stamped at the first start, once, with no reindex."""

from __future__ import annotations

import asyncio
import logging

import pytest
import typer
from typer.testing import CliRunner

from memory_gateway.cli import reindex
from memory_gateway.main import create_app
from memory_gateway.settings import Settings
from pma_core.clients import MemoryGatewayClient
from pma_core.contracts.memory import MemoryItem
from pma_core.settings import EmbeddingSettings
from pma_core.testing.fake_openai import FakeOpenAIServer
from pma_core.testing.serve import AppStartupError, serve
from pma_core.vectors import COLLECTION_NAMES, EdgeVectorStore, EmbedderMismatchError, setup_collections

ITEMS = [
    MemoryItem(text="The Q1 newsletter goes out on Friday"),
    MemoryItem(text="Dana approves the launch budget", kind="decision"),
]
HASHING = "hashing-v1:384"
REMOTE = "openai:fake/embedding-model:384"
GATEWAY_LOGGER = "memory_gateway.adapters.collection_setup"


async def _stamps(settings: Settings) -> dict[str, str | None]:
    store = EdgeVectorStore(settings.qdrant.path)
    try:
        infos = [await store.collection_info(name) for name in COLLECTION_NAMES]
    finally:
        await store.close()
    return {name: info.embedder if info else None for name, info in zip(COLLECTION_NAMES, infos, strict=True)}


async def test_another_embedder_of_the_same_size_is_refused_until_pma_reindex_recreate(
    gateway_settings: Settings, fake_openai: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Memories embedded by a remote model of 384 dimensions...
    remote = gateway_settings.model_copy(update={"embedding": fake_openai.embedding_settings(dimensions=384)})
    async with serve(create_app(remote)) as url:
        client = MemoryGatewayClient(url)
        await client.remember_batch("alice", ITEMS)
        await client.aclose()
    assert await _stamps(gateway_settings) == dict.fromkeys(COLLECTION_NAMES, REMOTE)

    # ...then the gateway is configured with the hashing embedder, also 384 dimensions: refused.
    assert gateway_settings.embedding.resolved_provider() == "hashing"
    app = create_app(gateway_settings)
    with pytest.raises(EmbedderMismatchError) as caught:
        async with app.router.lifespan_context(app):
            pass
    message = str(caught.value)
    assert f"embedder '{REMOTE}'" in message
    assert f"configured embedder is '{HASHING}'" in message
    assert "stop the memory-gateway and run `pma reindex --recreate`" in message
    with pytest.raises(AppStartupError):  # served, the same refusal: the server never starts
        async with serve(create_app(gateway_settings)):
            pass
    assert await _stamps(gateway_settings) == dict.fromkeys(COLLECTION_NAMES, REMOTE)  # nothing overwritten

    # A plain reindex (gateway down, so it works locally) refuses too: no new vectors into old collections.
    monkeypatch.setenv("POSTGRES_URL", gateway_settings.postgres.url.get_secret_value())
    monkeypatch.setenv("QDRANT_PATH", str(gateway_settings.qdrant.path))
    monkeypatch.setenv("EMBEDDING_PROVIDER", "hashing")
    monkeypatch.setenv("MEMORY_GATEWAY_URL", "http://127.0.0.1:9")  # no gateway running: work locally
    cli = typer.Typer()
    cli.command()(reindex)
    plain = await asyncio.to_thread(CliRunner().invoke, cli, [])
    assert plain.exit_code == 1, plain.output
    assert "pma reindex --recreate" in plain.output

    recreated = await asyncio.to_thread(CliRunner().invoke, cli, ["--recreate"])
    assert recreated.exit_code == 0, recreated.output
    assert "reindexed 2 rows" in recreated.output
    assert await _stamps(gateway_settings) == dict.fromkeys(COLLECTION_NAMES, HASHING)

    async with serve(create_app(gateway_settings)) as url:
        client = MemoryGatewayClient(url)
        hits = (await client.recall("alice", "launch budget", use_cache=False)).hits
        await client.aclose()
    assert hits[0].memory.text == "Dana approves the launch budget"
    assert hits[0].parts.dense_rank == 1


async def test_collections_made_before_identities_are_stamped_at_the_first_start_and_logged_once(
    gateway_settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    # As an older gateway (or `pma collections`) left them: the right size, no stamp.
    gateway_settings.qdrant.path.mkdir(parents=True)
    store = EdgeVectorStore(gateway_settings.qdrant.path)
    try:
        await setup_collections(store, size=384)
    finally:
        await store.close()
    assert await _stamps(gateway_settings) == dict.fromkeys(COLLECTION_NAMES)

    def stamp_logs() -> list[logging.LogRecord]:
        return [r for r in caplog.records if r.name == GATEWAY_LOGGER and "stamped" in r.getMessage()]

    with caplog.at_level(logging.INFO, logger=GATEWAY_LOGGER):
        async with serve(create_app(gateway_settings)):
            pass
        [record] = stamp_logs()
        assert (record.__dict__["collections"], record.__dict__["embedder"]) == (list(COLLECTION_NAMES), HASHING)
        assert await _stamps(gateway_settings) == dict.fromkeys(COLLECTION_NAMES, HASHING)

        async with serve(create_app(gateway_settings)):
            pass
        assert len(stamp_logs()) == 1  # the second start found them stamped: nothing to log


async def test_a_fresh_deploy_creates_stamped_collections(gateway_settings: Settings) -> None:
    resized = gateway_settings.model_copy(
        update={"embedding": EmbeddingSettings(provider="hashing", hashing_dimensions=64)}
    )
    async with serve(create_app(resized)):
        pass
    assert await _stamps(gateway_settings) == dict.fromkeys(COLLECTION_NAMES, "hashing-v1:64")
