"""The planner-engine with the real memory-gateway: context recalled before planning, `plan.created` after.

Both on real ports over one real Postgres and Valkey (and embedded Qdrant for the gateway), talking
through the typed clients, as in production.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, AsyncExitStack
from pathlib import Path

import pytest

import memory_gateway.main
import planner_engine.main
from memory_gateway.settings import Settings as MemorySettings
from planner_engine.settings import PlannerSettings as PlannerTuning
from planner_engine.settings import Settings as PlannerSettings
from pma_core.clients import MemoryGatewayClient, PlannerEngineClient
from pma_core.contracts.events import EventRead
from pma_core.contracts.memory import MemoryCreate
from pma_core.contracts.plans import PlanCreate
from pma_core.embedded.process import free_port
from pma_core.settings import EmbeddingSettings, PostgresSettings, QdrantSettings, ServiceUrls, ValkeySettings
from pma_core.testing.serve import serve

USER = "dana"


class Stack:
    def __init__(self, postgres: PostgresSettings, valkey: ValkeySettings, qdrant_path: Path) -> None:
        self.memory_port, self.planner_port = free_port(), free_port()
        self.urls = ServiceUrls(
            memory_gateway_url=f"http://127.0.0.1:{self.memory_port}",
            planner_engine_url=f"http://127.0.0.1:{self.planner_port}",
            scheduler_engine_url=f"http://127.0.0.1:{free_port()}",
        )
        common = {"postgres": postgres, "valkey": valkey, "services": self.urls}
        self.memory_settings = MemorySettings(
            **common, qdrant=QdrantSettings(path=qdrant_path), embedding=EmbeddingSettings(provider="hashing")
        )
        self.planner_settings = PlannerSettings(
            **common,
            embedding=EmbeddingSettings(provider="hashing"),
            planner=PlannerTuning(handover_retry_interval_seconds=0.2),
        )
        self.memory = MemoryGatewayClient(self.urls.memory_gateway_url, timeout=10.0, retries=0)
        self.planner = PlannerEngineClient(self.urls.planner_engine_url, timeout=15.0, retries=0)

    def serve_memory(self) -> AbstractAsyncContextManager[str]:
        return serve(memory_gateway.main.create_app(self.memory_settings), port=self.memory_port)

    def serve_planner(self) -> AbstractAsyncContextManager[str]:
        return serve(planner_engine.main.create_app(self.planner_settings), port=self.planner_port)

    async def plan_events(self) -> list[EventRead]:
        return await self.memory.list_events(USER, types=["plan.created"])


@pytest.fixture
async def stack(
    postgres_settings: PostgresSettings, valkey_settings: ValkeySettings, tmp_path: Path
) -> AsyncIterator[Stack]:
    stack = Stack(postgres_settings, valkey_settings, tmp_path / "qdrant")
    try:
        yield stack
    finally:
        await stack.memory.aclose()
        await stack.planner.aclose()


async def test_planning_recalls_preferences_and_records_the_plan_in_memory(stack: Stack) -> None:
    async with AsyncExitStack() as running:
        await running.enter_async_context(stack.serve_memory())
        await running.enter_async_context(stack.serve_planner())
        await stack.memory.remember(
            MemoryCreate(user_id=USER, kind="preference", text="No deep work before 10am; mornings are for email")
        )
        await stack.memory.remember(MemoryCreate(user_id="someone-else", kind="preference", text="Deep work at 6am"))

        plan = await stack.planner.create_plan(PlanCreate(user_id=USER, intent="Write the quarterly report"))

        assert plan.warnings == []
        assert [(r.kind, r.text) for r in plan.recalled if r.kind == "preference"] == [
            ("preference", "No deep work before 10am; mornings are for email")
        ]
        # Recorded right after the response, not before it.
        (event,) = await _poll(stack.plan_events, until=lambda found: len(found) >= 1)
        assert event.payload["plan_id"] == str(plan.id)
        assert event.payload["tasks"] == len(plan.tasks)
        assert event.idempotency_key == f"plan.created:{plan.id}"

        # The next similar intent sees the first plan among what memory recalls.
        await _poll(stack.plan_events, until=lambda found: len(found) >= 1)
        second = await stack.planner.create_plan(PlanCreate(user_id=USER, intent="Write the yearly report"))
        assert ("past_plan", "Write the quarterly report") in [(r.kind, r.text) for r in second.recalled]


async def test_a_plan_made_while_memory_is_down_reaches_it_once_it_is_back(stack: Stack) -> None:
    async with stack.serve_planner():
        plan = await stack.planner.create_plan(PlanCreate(user_id=USER, intent="Launch the podcast"))
        assert plan.planned_offline
        assert plan.tasks
        assert any("memory-gateway unavailable" in warning for warning in plan.warnings)

        async with stack.serve_memory():
            events = await _poll(stack.plan_events, until=lambda found: len(found) >= 1)
            assert [e.payload["plan_id"] for e in events] == [str(plan.id)]
            # The sweep keeps running: the event is recorded once, never again.
            await asyncio.sleep(0.6)
            assert len(await stack.plan_events()) == 1


async def _poll(
    fetch: Callable[[], Awaitable[list[EventRead]]], *, until: Callable[[list[EventRead]], bool], seconds: float = 10.0
) -> list[EventRead]:
    deadline = time.monotonic() + seconds
    while True:
        found = await fetch()
        if until(found) or time.monotonic() > deadline:
            return found
        await asyncio.sleep(0.1)
