"""All four services together, each on a real port, on one real Postgres, Valkey and embedded Qdrant.

Each is built from its own settings, as `pma up` and docker compose do; they find each other by URL.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

import memory_gateway.main
import observer_agent.main
import planner_engine.main
import scheduler_engine.main
from memory_gateway.settings import Settings as MemorySettings
from observer_agent.settings import Settings as ObserverSettings
from planner_engine.settings import Settings as PlannerSettings
from pma_core.clients import MemoryGatewayClient, ObserverAgentClient, PlannerEngineClient, SchedulerEngineClient
from pma_core.embedded.process import free_port
from pma_core.settings import EmbeddingSettings, PostgresSettings, QdrantSettings, ServiceUrls, ValkeySettings
from pma_core.testing.serve import serve
from scheduler_engine.settings import Settings as SchedulerSettings

EXPECTED_DEPENDENCIES = {
    "memory-gateway": {"postgres", "valkey", "qdrant"},
    "planner-engine": {"postgres", "valkey", "memory-gateway", "scheduler-engine"},
    "scheduler-engine": {"postgres", "valkey", "memory-gateway", "planner-engine"},
    "observer-agent": {"postgres", "valkey", "memory-gateway", "planner-engine", "scheduler-engine"},
}


def _apps(
    postgres: PostgresSettings, valkey: ValkeySettings, urls: ServiceUrls, qdrant_path: Path
) -> dict[str, FastAPI]:
    common = {"postgres": postgres, "valkey": valkey, "services": urls}
    memory = MemorySettings(
        **common, qdrant=QdrantSettings(path=qdrant_path), embedding=EmbeddingSettings(provider="hashing")
    )
    return {
        "memory-gateway": memory_gateway.main.create_app(memory),
        "planner-engine": planner_engine.main.create_app(PlannerSettings(**common)),
        "scheduler-engine": scheduler_engine.main.create_app(SchedulerSettings(**common)),
        "observer-agent": observer_agent.main.create_app(ObserverSettings(**common)),
    }


@pytest.fixture
async def stack(
    postgres_settings: PostgresSettings, valkey_settings: ValkeySettings, tmp_path: Path
) -> AsyncIterator[tuple[ServiceUrls, AsyncExitStack]]:
    ports = {name: free_port() for name in EXPECTED_DEPENDENCIES}
    urls = ServiceUrls(**{f"{n.replace('-', '_')}_url": f"http://127.0.0.1:{p}" for n, p in ports.items()})
    apps = _apps(postgres_settings, valkey_settings, urls, tmp_path / "qdrant")
    async with AsyncExitStack() as exits:
        for name, app in apps.items():
            await exits.enter_async_context(serve(app, port=ports[name]))
        yield urls, exits


async def test_every_service_is_ready_with_the_dependencies_it_uses(
    stack: tuple[ServiceUrls, AsyncExitStack],
) -> None:
    urls, _ = stack
    clients = [
        MemoryGatewayClient(urls.memory_gateway_url),
        PlannerEngineClient(urls.planner_engine_url),
        SchedulerEngineClient(urls.scheduler_engine_url),
        ObserverAgentClient(urls.observer_agent_url),
    ]
    try:
        for client in clients:
            report = await client.readyz()
            assert report.status == "ok", report
            assert {d.name for d in report.dependencies} == EXPECTED_DEPENDENCIES[client.service_name]
            assert all(d.status == "ok" for d in report.dependencies)
    finally:
        for client in clients:
            await client.aclose()


async def test_only_the_memory_gateway_opens_qdrant(stack: tuple[ServiceUrls, AsyncExitStack]) -> None:
    urls, _ = stack
    async with httpx.AsyncClient() as http:
        for name, url in [
            ("planner-engine", urls.planner_engine_url),
            ("scheduler-engine", urls.scheduler_engine_url),
            ("observer-agent", urls.observer_agent_url),
        ]:
            names = {d["name"] for d in (await http.get(f"{url}/readyz")).json()["dependencies"]}
            assert "qdrant" not in names, name
