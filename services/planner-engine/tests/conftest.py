"""The planner-engine under test: served on a real port over real Postgres and Valkey.

By default the services it calls are down (closed ports) and no LLM key is set, so it plans offline;
tests that need more swap in the fake OpenAI server (`llm_planner`) or a scheduler stand-in. The
memory-gateway itself is exercised with the planner in the cross-service tests (tests/), where both
packages are installed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import pytest

from planner_engine.main import create_app
from planner_engine.settings import PlannerSettings, Settings
from pma_core.clients import PlannerEngineClient
from pma_core.embedded.process import free_port
from pma_core.settings import (
    EmbeddingSettings,
    HttpSettings,
    LLMSettings,
    PostgresSettings,
    ServiceUrls,
    ValkeySettings,
)
from pma_core.testing.fake_openai import FakeOpenAIServer
from pma_core.testing.serve import serve

PlannerFactory = Callable[..., AbstractAsyncContextManager[PlannerEngineClient]]


def _closed_url() -> str:
    return f"http://127.0.0.1:{free_port()}"


@pytest.fixture
def planner_settings(postgres_settings: PostgresSettings, valkey_settings: ValkeySettings) -> Settings:
    return Settings(
        postgres=postgres_settings,
        valkey=valkey_settings,
        services=ServiceUrls(memory_gateway_url=_closed_url(), scheduler_engine_url=_closed_url()),
        embedding=EmbeddingSettings(provider="hashing"),
        # No key: the offline planner. A loopback base URL, so nothing could reach a real provider anyway.
        llm=LLMSettings(base_url=_closed_url() + "/v1", api_key=None, allow_model_requests=False),
        planner=PlannerSettings(memory_timeout_seconds=1.0, handover_retry_interval_seconds=0.2),
    )


@pytest.fixture
def start_planner(planner_settings: Settings) -> PlannerFactory:
    """Serve a planner with these settings changed (e.g. `llm=...`, `services=...`)."""

    @asynccontextmanager
    async def start(**changes: object) -> AsyncIterator[PlannerEngineClient]:
        settings = planner_settings.model_copy(update=changes)
        async with serve(create_app(settings)) as url:
            client = PlannerEngineClient(url, timeout=15.0, retries=0)
            try:
                yield client
            finally:
                await client.aclose()

    return start


@pytest.fixture
async def planner(start_planner: PlannerFactory) -> AsyncIterator[PlannerEngineClient]:
    """The offline planner (no LLM key), memory-gateway and scheduler down. Its clients give up on them at
    once instead of retrying, which only slows tests down; tests of retries use `start_planner`."""
    async with start_planner(http=HttpSettings(client_retries=0)) as client:
        yield client


@pytest.fixture
async def llm_planner(
    start_planner: PlannerFactory, fake_openai: FakeOpenAIServer
) -> AsyncIterator[PlannerEngineClient]:
    """The LLM planner against the fake OpenAI-compatible server (one SDK retry, 2 s timeout)."""
    async with start_planner(llm=fake_openai.llm_settings()) as client:
        yield client
