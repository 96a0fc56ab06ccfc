"""All four services on real loopback ports over one Postgres and Valkey, as the cross-service tests run them,
each in its own uvicorn server with the settings a test gives (access control among them); and waiting for
a plan's scheduling to come back."""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack
from pathlib import Path

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
    urls = ServiceUrls(
        memory_gateway_url=f"http://127.0.0.1:{ports['memory']}",
        planner_engine_url=f"http://127.0.0.1:{ports['planner']}",
        scheduler_engine_url=f"http://127.0.0.1:{ports['scheduler']}",
        observer_agent_url=f"http://127.0.0.1:{ports['observer']}",
    )
    common = {"postgres": postgres, "valkey": valkey, "services": urls, "access": access or AccessSettings()}
    apps = {
        "memory": memory_gateway.main.create_app(MemorySettings(
            **common, qdrant=QdrantSettings(path=data_dir / "qdrant"), embedding=EmbeddingSettings(provider="hashing"),
        )),
        "planner": planner_engine.main.create_app(PlannerSettings(
            **common, embedding=EmbeddingSettings(provider="hashing"),
            planner=PlannerTuning(memory_timeout_seconds=5.0, handover_retry_interval_seconds=0.5),
        )),
        "scheduler": scheduler_engine.main.create_app(SchedulerServiceSettings(
            **common, scheduler=SchedulerSettings(
                time_limit_seconds=1.0, num_workers=1, sweep_interval_seconds=1.0,
                public_base_url=urls.scheduler_engine_url,
            ),
        )),
        "observer": observer_agent.main.create_app(ObserverServiceSettings(
            **common, observer=ObserverSettings(
                sweep_interval_seconds=0.3, post_wait_seconds=0.0, public_base_url=urls.observer_agent_url,
            ),
        )),
    }  # fmt: skip
    for name, app in apps.items():
        await running.enter_async_context(serve(app, port=ports[name]))
    return urls
