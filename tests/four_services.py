"""All four services on real loopback ports over one Postgres and Valkey, as the cross-service tests run them,
each in its own uvicorn server with the settings a test gives (access control among them); and waiting for
a plan's scheduling to come back.

`four_settings` and `four_apps` are the pieces `start_four_services` is made of, for tests that start more
than one of a service (tests/test_replicas.py).
"""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path

from fastapi import FastAPI

import memory_gateway.main
import observer_agent.main
import planner_engine.main
import scheduler_engine.main
from memory_gateway.settings import Settings as MemorySettings
from observer_agent.settings import ObserverSettings
from observer_agent.settings import Settings as ObserverServiceSettings
from planner_engine.settings import PlannerSettings as PlannerTuning
from planner_engine.settings import Settings as PlannerSettings
from pma_core.clients import MemoryGatewayClient, ObserverAgentClient, PlannerEngineClient, SchedulerEngineClient
from pma_core.contracts.plans import PlanRead
from pma_core.embedded.process import free_port
from pma_core.settings import (
    AccessSettings,
    EmbeddingSettings,
    PostgresSettings,
    QdrantSettings,
    ServiceUrls,
    ValkeySettings,
)
from pma_core.testing.serve import serve
from scheduler_engine.settings import SchedulerSettings
from scheduler_engine.settings import Settings as SchedulerServiceSettings


async def until_scheduled(planner: PlannerEngineClient, plan: PlanRead, *, seconds: float = 30) -> PlanRead:
    """The plan once the scheduler has reported its run's outcome to the planner."""
    async with asyncio.timeout(seconds):
        while True:
            current = await planner.get_plan(plan.user_id, plan.id)
            if current.scheduling.outcome is not None:
                return current
            await asyncio.sleep(0.1)


class Clients:
    """A typed client of each service, as an outside caller holding `bearer_token` would call them."""

    def __init__(self, urls: ServiceUrls, *, bearer_token: str | None = None) -> None:
        self.urls = urls
        token = {"bearer_token": bearer_token}
        self.memory = MemoryGatewayClient(urls.memory_gateway_url, timeout=20.0, retries=0, **token)
        self.planner = PlannerEngineClient(urls.planner_engine_url, timeout=20.0, retries=0, **token)
        self.scheduler = SchedulerEngineClient(urls.scheduler_engine_url, timeout=20.0, retries=0, **token)
        self.observer = ObserverAgentClient(urls.observer_agent_url, timeout=30.0, retries=0, **token)

    async def aclose(self) -> None:
        for client in (self.memory, self.planner, self.scheduler, self.observer):
            await client.aclose()


@dataclass(frozen=True)
class FourSettings:
    """The settings of each of the four services, as these tests run them."""

    memory: MemorySettings
    planner: PlannerSettings
    scheduler: SchedulerServiceSettings
    observer: ObserverServiceSettings


def four_settings(
    *,
    postgres: PostgresSettings,
    valkey: ValkeySettings,
    urls: ServiceUrls,
    data_dir: Path,
    access: AccessSettings | None = None,
) -> FourSettings:
    """Offline planner, hashing embedder, embedded Qdrant under `data_dir`, short background loops; each
    service finds the others at `urls`."""
    common = {"postgres": postgres, "valkey": valkey, "services": urls, "access": access or AccessSettings()}
    return FourSettings(
        memory=MemorySettings(
            **common, qdrant=QdrantSettings(path=data_dir / "qdrant"), embedding=EmbeddingSettings(provider="hashing"),
        ),
        planner=PlannerSettings(
            **common, embedding=EmbeddingSettings(provider="hashing"),
            planner=PlannerTuning(memory_timeout_seconds=5.0, handover_retry_interval_seconds=0.5),
        ),
        scheduler=SchedulerServiceSettings(
            **common, scheduler=SchedulerSettings(
                time_limit_seconds=1.0, num_workers=1, sweep_interval_seconds=1.0,
                public_base_url=urls.scheduler_engine_url,
            ),
        ),
        observer=ObserverServiceSettings(
            **common, observer=ObserverSettings(
                sweep_interval_seconds=0.3, post_wait_seconds=0.0, public_base_url=urls.observer_agent_url,
            ),
        ),
    )  # fmt: skip


def four_apps(settings: FourSettings) -> dict[str, FastAPI]:
    """Each service's app, by the short names `start_four_services` uses ("memory", "planner", ...)."""
    return {
        "memory": memory_gateway.main.create_app(settings.memory),
        "planner": planner_engine.main.create_app(settings.planner),
        "scheduler": scheduler_engine.main.create_app(settings.scheduler),
        "observer": observer_agent.main.create_app(settings.observer),
    }


def loopback_urls(ports: dict[str, int]) -> ServiceUrls:
    """The services' URLs on 127.0.0.1, from a port per short name."""
    return ServiceUrls(
        memory_gateway_url=f"http://127.0.0.1:{ports['memory']}",
        planner_engine_url=f"http://127.0.0.1:{ports['planner']}",
        scheduler_engine_url=f"http://127.0.0.1:{ports['scheduler']}",
        observer_agent_url=f"http://127.0.0.1:{ports['observer']}",
    )


async def start_four_services(
    running: AsyncExitStack,
    *,
    postgres: PostgresSettings,
    valkey: ValkeySettings,
    data_dir: Path,
    access: AccessSettings | None = None,
) -> ServiceUrls:
    """Start the four services (offline planner, hashing embedder, embedded Qdrant under `data_dir`) until
    `running` closes; their URLs."""
    ports = {name: free_port() for name in ("memory", "planner", "scheduler", "observer")}
    urls = loopback_urls(ports)
    settings = four_settings(postgres=postgres, valkey=valkey, urls=urls, data_dir=data_dir, access=access)
    for name, app in four_apps(settings).items():
        await running.enter_async_context(serve(app, port=ports[name]))
    return urls
