"""pytest fixtures for the loopback fake of the OpenAI-compatible API and of Langfuse.

One server per test session (starting uvicorn costs ~50 ms); every test gets it reset.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from pma_core.testing.fake_openai import FakeOpenAIServer


@pytest.fixture(scope="session")
def fake_openai_server() -> Iterator[FakeOpenAIServer]:
    """The session's fake server; prefer `fake_openai`, which also resets it around each test."""
    with FakeOpenAIServer() as server:
        yield server


@pytest.fixture
def fake_openai(fake_openai_server: FakeOpenAIServer) -> Iterator[FakeOpenAIServer]:
    """The fake OpenAI/OpenRouter + Langfuse server, with empty scripts and recordings."""
    fake_openai_server.reset()
    yield fake_openai_server
    fake_openai_server.reset()
