"""Settings read their documented variables, and secrets never show when printed."""

from __future__ import annotations

import pytest

from pma_core.settings import CoreSettings, EmbeddingSettings, LLMSettings


def test_each_concern_reads_its_own_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POSTGRES_URL", "postgresql://pma:hunter2@db.internal:5432/pma")
    monkeypatch.setenv("VALKEY_KEY_PREFIX", "custom:")
    monkeypatch.setenv("HTTP_MAX_BODY_BYTES", "2048")
    monkeypatch.setenv("MEMORY_GATEWAY_URL", "http://memory-gateway:8000")
    settings = CoreSettings(service_name="planner-engine")
    assert settings.postgres.url.get_secret_value() == "postgresql://pma:hunter2@db.internal:5432/pma"
    assert settings.valkey_prefix == "custom:"
    assert settings.http.max_body_bytes == 2048
    assert settings.services.memory_gateway_url == "http://memory-gateway:8000"


def test_service_name_is_the_default_key_prefix() -> None:
    assert CoreSettings(service_name="observer-agent").valkey_prefix == "pma:observer-agent:"


def test_secrets_are_hidden_in_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POSTGRES_URL", "postgresql://pma:hunter2@db/pma")
    monkeypatch.setenv("OPENROUTER_API_KEY", "sk-or-secret")
    printed = repr(CoreSettings()) + repr(LLMSettings())
    assert "hunter2" not in printed
    assert "sk-or-secret" not in printed


def test_llm_key_from_either_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENROUTER_API_KEY", "sk-or-1")
    assert LLMSettings().api_key is not None
    monkeypatch.delenv("OPENROUTER_API_KEY")
    monkeypatch.setenv("LLM_API_KEY", "sk-2")
    key = LLMSettings().api_key
    assert key is not None
    assert key.get_secret_value() == "sk-2"


def test_embedder_defaults_to_offline_hashing_without_a_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EMBEDDING_API_KEY", raising=False)
    assert EmbeddingSettings().resolved_provider() == "hashing"
    monkeypatch.setenv("EMBEDDING_API_KEY", "sk-emb")
    assert EmbeddingSettings().resolved_provider() == "openai"
