"""`open_embedder` picks the configured provider and starts it."""

from __future__ import annotations

import sys

import pytest
from pydantic import SecretStr

from pma_core.embedders import (
    EmbeddingError,
    FastEmbedEmbedder,
    HashingEmbedder,
    open_embedder,
)
from pma_core.embedders.openai_compat import OpenAICompatibleEmbedder
from pma_core.settings import EmbeddingSettings, LLMSettings
from pma_core.testing.fake_openai import FakeOpenAIServer


async def test_without_a_key_the_offline_hashing_embedder_is_used() -> None:
    settings = EmbeddingSettings(provider=None, api_key=None, hashing_dimensions=128)
    embedder = await open_embedder(settings, LLMSettings())
    assert isinstance(embedder, HashingEmbedder)
    assert (embedder.name, embedder.dimension) == ("hashing-128", 128)


async def test_with_a_key_the_openai_compatible_embedder_is_started(fake_openai: FakeOpenAIServer) -> None:
    settings = fake_openai.embedding_settings(provider=None)
    assert settings.resolved_provider() == "openai"
    embedder = await open_embedder(settings, fake_openai.llm_settings())
    assert isinstance(embedder, OpenAICompatibleEmbedder)
    assert embedder.dimension == fake_openai.embedding_dimension
    await embedder.close()


async def test_explicit_hashing_wins_over_a_key() -> None:
    settings = EmbeddingSettings(provider="hashing", api_key=SecretStr("sk"), hashing_dimensions=64)
    assert isinstance(await open_embedder(settings, LLMSettings()), HashingEmbedder)


async def test_a_failing_start_propagates(fake_openai: FakeOpenAIServer) -> None:
    fake_openai.fail(401, endpoint="embeddings")
    with pytest.raises(EmbeddingError, match="HTTP 401"):
        await open_embedder(fake_openai.embedding_settings(), fake_openai.llm_settings())


async def test_fastembed_without_the_extra_names_the_install(monkeypatch: pytest.MonkeyPatch) -> None:
    # A `None` entry makes `import fastembed` fail, as when the optional extra is not installed.
    monkeypatch.setitem(sys.modules, "fastembed", None)
    settings = EmbeddingSettings(provider="fastembed")
    with pytest.raises(EmbeddingError, match=r"pma-core\[fastembed\]"):
        await open_embedder(settings, LLMSettings())
    embedder = FastEmbedEmbedder("BAAI/bge-small-en-v1.5")
    assert embedder.name == "fastembed:BAAI/bge-small-en-v1.5"
    with pytest.raises(EmbeddingError, match="unknown until start"):
        _ = embedder.dimension
