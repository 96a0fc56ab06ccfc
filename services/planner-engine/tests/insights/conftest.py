"""The planner with the memory-gateway stand-in up (standin_memory.py), offline or against the fake LLM."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager

import pytest

from pma_core.clients import PlannerEngineClient
from pma_core.embedded.process import free_port
from pma_core.settings import HttpSettings, ServiceUrls
from pma_core.testing.fake_openai import FakeOpenAIServer
from pma_core.testing.serve import serve

from .standin_memory import StandInMemory

# The `start_planner` fixture (../conftest.py): serve a planner with some settings changed.
PlannerFactory = Callable[..., AbstractAsyncContextManager[PlannerEngineClient]]


@pytest.fixture
async def memory() -> AsyncIterator[StandInMemory]:
    standin = StandInMemory()
    async with serve(standin.app()) as url:
        standin.url = url
        yield standin


def _with_memory(memory: StandInMemory) -> dict[str, object]:
    # The scheduler stays down; the planner's clients give up at once rather than retry (the tests of
    # retries are elsewhere), so a failing gateway costs no back-off.
    urls = ServiceUrls(memory_gateway_url=memory.url, scheduler_engine_url=f"http://127.0.0.1:{free_port()}")
    return {"services": urls, "http": HttpSettings(client_retries=0)}


@pytest.fixture
async def planner_with_memory(
    start_planner: PlannerFactory, memory: StandInMemory
) -> AsyncIterator[PlannerEngineClient]:
    """The offline planner, the memory-gateway stand-in up."""
    async with start_planner(**_with_memory(memory)) as client:
        yield client


@pytest.fixture
async def llm_planner_with_memory(
    start_planner: PlannerFactory, memory: StandInMemory, fake_openai: FakeOpenAIServer
) -> AsyncIterator[PlannerEngineClient]:
    """The LLM planner against the fake OpenAI server, the memory-gateway stand-in up."""
    async with start_planner(llm=fake_openai.llm_settings(), **_with_memory(memory)) as client:
        yield client
