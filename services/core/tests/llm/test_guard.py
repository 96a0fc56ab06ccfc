"""The model-request switch and the missing-key error, checked before any network I/O."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, SecretStr

from pma_core.embedders import EmbeddingError
from pma_core.embedders.openai_compat import OpenAICompatibleEmbedder
from pma_core.llm import (
    ChatMessage,
    LLMClient,
    LLMNotConfiguredError,
    ModelRequestsForbiddenError,
    ensure_model_requests_allowed,
    is_loopback_host,
)
from pma_core.settings import EmbeddingSettings, LLMSettings
from pma_core.testing.fake_openai import FakeOpenAIServer


class Answer(BaseModel):
    text: str


# A routable address outside this machine: reaching it would trip the test plugin's network guard
# (ExternalNetworkBlockedError), so getting our own error proves nothing was attempted.
REMOTE = "http://10.255.255.1:9/v1"


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("LOCALHOST", True),
        ("api.localhost", True),
        ("openrouter.ai", False),
        ("10.255.255.1", False),
        ("localhost.evil.example", False),
        ("", False),
    ],
)
def test_is_loopback_host(host: str, expected: bool) -> None:
    assert is_loopback_host(host) is expected


def test_switch_allows_loopback_and_everything_when_on() -> None:
    ensure_model_requests_allowed("http://127.0.0.1:8080/v1", allowed=False)
    ensure_model_requests_allowed("https://openrouter.ai/api/v1", allowed=True)
    with pytest.raises(ModelRequestsForbiddenError) as caught:
        ensure_model_requests_allowed("https://openrouter.ai/api/v1", allowed=False)
    assert "LLM_ALLOW_MODEL_REQUESTS" in caught.value.message
    assert caught.value.status_code == 503


def test_tests_run_with_the_switch_off() -> None:
    assert LLMSettings().allow_model_requests is False


async def test_llm_call_to_remote_host_is_refused_before_io(fake_openai: FakeOpenAIServer) -> None:
    settings = LLMSettings(base_url=REMOTE, api_key=SecretStr("sk-real"), allow_model_requests=False)
    async with LLMClient(settings) as client:
        with pytest.raises(ModelRequestsForbiddenError, match="LLM_ALLOW_MODEL_REQUESTS"):
            await client.structured(messages=[ChatMessage.user("hi")], output_type=Answer, name="t")
        with pytest.raises(ModelRequestsForbiddenError):
            await client.complete(messages=[ChatMessage.user("hi")], name="t")
    assert fake_openai.requests == []


async def test_missing_key_for_a_remote_provider_is_not_configured() -> None:
    settings = LLMSettings(base_url="https://openrouter.ai/api/v1", api_key=None, allow_model_requests=False)
    assert settings.api_key is None
    async with LLMClient(settings) as client:
        with pytest.raises(LLMNotConfiguredError) as caught:
            await client.complete(messages=[ChatMessage.user("hi")], name="t")
    assert "LLM_API_KEY" in caught.value.message
    assert caught.value.code == "llm_not_configured"


def test_empty_key_from_the_environment_counts_as_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENROUTER_API_KEY", "")
    assert LLMSettings().api_key is None


async def test_embedder_to_remote_host_is_refused_before_io(fake_openai: FakeOpenAIServer) -> None:
    settings = EmbeddingSettings(provider="openai", base_url=REMOTE, api_key=SecretStr("sk-real"))
    embedder = OpenAICompatibleEmbedder(settings, LLMSettings(allow_model_requests=False))
    with pytest.raises(ModelRequestsForbiddenError, match="embedding request"):
        await embedder.start()
    await embedder.close()
    assert fake_openai.requests == []


async def test_embedder_without_any_key_for_a_remote_provider_fails_clearly() -> None:
    settings = EmbeddingSettings(provider="openai", base_url="https://api.openai.com/v1", api_key=None)
    llm = LLMSettings(api_key=None, allow_model_requests=False)
    embedder = OpenAICompatibleEmbedder(settings, llm)
    with pytest.raises(EmbeddingError, match="EMBEDDING_API_KEY"):
        await embedder.start()
