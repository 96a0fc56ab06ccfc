"""The observer-agent app on real Postgres and Valkey: health, OpenAPI, and readiness of what it calls."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from observer_agent.main import create_app
from observer_agent.settings import Settings
from pma_core.embedded.process import free_port
from pma_core.settings import PostgresSettings, ServiceUrls, ValkeySettings
from pma_core.testing.serve import serve

CALLED_SERVICES = ["memory-gateway", "planner-engine", "scheduler-engine"]


@pytest.fixture
async def service(
    postgres_settings: PostgresSettings, valkey_settings: ValkeySettings
) -> AsyncIterator[httpx.AsyncClient]:
    # Every service it calls points at a closed port: they are down.
    down = {f"{s.replace('-', '_')}_url": f"http://127.0.0.1:{free_port()}" for s in CALLED_SERVICES}
    settings = Settings(postgres=postgres_settings, valkey=valkey_settings, services=ServiceUrls(**down))
    async with serve(create_app(settings)) as url, httpx.AsyncClient(base_url=url) as client:
        yield client


async def test_serves_health_and_openapi(service: httpx.AsyncClient) -> None:
    health = (await service.get("/healthz")).json()
    assert (health["status"], health["service"]) == ("ok", "observer-agent")
    spec = (await service.get("/openapi.json")).json()
    assert spec["info"]["title"] == "observer-agent"
    assert {"/healthz", "/readyz", "/metrics"} <= set(spec["paths"])
    assert (await service.get("/docs")).status_code == 200


async def test_not_ready_naming_each_service_it_calls_that_is_down(service: httpx.AsyncClient) -> None:
    response = await service.get("/readyz")
    assert response.status_code == 503
    statuses = {d["name"]: d["status"] for d in response.json()["dependencies"]}
    # Reflections need the planner's and the scheduler's records; the memory-gateway only receives
    # deliveries, which wait for it, so it degrades readiness without failing it.
    assert statuses == {
        "postgres": "ok", "valkey": "ok", "planner-engine": "fail", "scheduler-engine": "fail",
        "memory-gateway": "degraded",
    }  # fmt: skip


async def test_does_not_open_qdrant(service: httpx.AsyncClient) -> None:
    names = {d["name"] for d in (await service.get("/readyz")).json()["dependencies"]}
    assert "qdrant" not in names
