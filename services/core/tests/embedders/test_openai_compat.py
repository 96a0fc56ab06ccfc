"""The OpenAI-compatible embedder against the loopback fake, through the real `openai` SDK."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import SecretStr

from pma_core.embedders import EmbeddingError, HashingEmbedder
from pma_core.embedders.openai_compat import OpenAICompatibleEmbedder
from pma_core.testing.fake_openai import FakeOpenAIServer


def embedder_for(fake: FakeOpenAIServer, *, batch_size: int = 128, **settings: object) -> OpenAICompatibleEmbedder:
    llm = fake.llm_settings(max_retries=settings.pop("max_retries", 1))
    return OpenAICompatibleEmbedder(fake.embedding_settings(**settings), llm, batch_size=batch_size)


async def test_learns_its_dimension_from_the_provider(fake_openai: FakeOpenAIServer) -> None:
    fake_openai.embedding_dimension = 48
    embedder = embedder_for(fake_openai)
    with pytest.raises(EmbeddingError, match="unknown until start"):
        _ = embedder.dimension
    await embedder.start()
    assert embedder.dimension == 48
    assert embedder.name == "openai:fake/embedding-model"
    [probe] = fake_openai.embedding_requests
    assert probe.body["model"] == "fake/embedding-model"
    assert probe.body["encoding_format"] == "float"
    assert "dimensions" not in probe.body
    assert probe.headers["authorization"] == f"Bearer {fake_openai.api_key}"
    await embedder.close()


async def test_batches_keep_order_and_normalise(fake_openai: FakeOpenAIServer) -> None:
    texts = [f"memory {i}: something to remember" for i in range(10)]
    embedder = embedder_for(fake_openai, batch_size=4)
    await embedder.start()
    vectors = await embedder.embed(texts)
    await embedder.close()

    sizes = [len(r.body["input"]) for r in fake_openai.embedding_requests]
    assert sizes == [1, 4, 4, 2]  # the probe, then three batches
    expected = HashingEmbedder(fake_openai.embedding_dimension).vectorize(texts)
    assert np.allclose(vectors, expected, atol=1e-6)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0)
    assert await embedder_for(fake_openai).embed([]) == []


async def test_empty_strings_are_sent_as_a_space(fake_openai: FakeOpenAIServer) -> None:
    embedder = embedder_for(fake_openai, dimensions=32)
    await embedder.start()
    vectors = await embedder.embed(["", "text"])
    await embedder.close()
    assert len(vectors) == 2
    assert fake_openai.embedding_requests[0].body["input"] == [" ", "text"]


async def test_requested_dimensions_are_sent_and_checked(fake_openai: FakeOpenAIServer) -> None:
    embedder = embedder_for(fake_openai, dimensions=32)
    await embedder.start()  # no probe: the size is configured
    assert embedder.dimension == 32
    assert fake_openai.embedding_requests == []
    [vector] = await embedder.embed(["hello"])
    assert len(vector) == 32
    assert fake_openai.embedding_requests[0].body["dimensions"] == 32

    fake_openai.honour_dimensions = False  # a model without `dimensions` support
    with pytest.raises(EmbeddingError, match=r"returned 64-dimensional vectors .* expected 32"):
        await embedder.embed(["hello"])
    await embedder.close()


async def test_server_errors_after_retries_are_clear(fake_openai: FakeOpenAIServer) -> None:
    for _ in range(3):
        fake_openai.fail(500, endpoint="embeddings", retry_after=0.01)
    embedder = embedder_for(fake_openai, max_retries=2)
    with pytest.raises(EmbeddingError) as caught:
        await embedder.start()
    await embedder.close()
    assert "127.0.0.1 answered HTTP 500 for model fake/embedding-model" in str(caught.value)
    assert len(fake_openai.embedding_requests) == 3


async def test_rate_limit_is_retried(fake_openai: FakeOpenAIServer) -> None:
    fake_openai.fail(429, endpoint="embeddings", retry_after=0.01)
    embedder = embedder_for(fake_openai)
    await embedder.start()
    await embedder.close()
    assert embedder.dimension == fake_openai.embedding_dimension
    assert len(fake_openai.embedding_requests) == 2


async def test_bad_key_and_timeouts_are_clear(fake_openai: FakeOpenAIServer) -> None:
    embedder = embedder_for(fake_openai, api_key=SecretStr("wrong"))
    with pytest.raises(EmbeddingError, match=r"HTTP 401 .*User not found"):
        await embedder.start()
    await embedder.close()

    fake_openai.delay(2.0, endpoint="embeddings")
    embedder = embedder_for(fake_openai, timeout_seconds=0.2, max_retries=0)
    with pytest.raises(EmbeddingError, match=r"timed out after 0\.2s"):
        await embedder.start()
    await embedder.close()


async def test_the_llm_key_serves_when_the_base_urls_match(fake_openai: FakeOpenAIServer) -> None:
    settings = fake_openai.embedding_settings(api_key=None)
    embedder = OpenAICompatibleEmbedder(settings, fake_openai.llm_settings())
    await embedder.start()
    await embedder.close()
    assert fake_openai.embedding_requests[0].headers["authorization"] == f"Bearer {fake_openai.api_key}"
