"""The typed service client against a real served app: retries when safe, typed errors, request ids."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from fastapi import APIRouter, FastAPI, Header, Response

from pma_core.app import build_app
from pma_core.clients import MemoryGatewayClient, RemoteServiceError
from pma_core.embedded.process import free_port
from pma_core.errors import NotFoundError, UnavailableError, UpstreamError
from pma_core.logging import reset_request_id, set_request_id
from pma_core.settings import CoreSettings
from pma_core.testing.serve import serve


class Flaky:
    """Answers 503 `failures` times, then 200: how a restarting service looks to its callers."""

    def __init__(self) -> None:
        self.failures = 0
        self.calls = 0
        self.seen_request_ids: list[str | None] = []


def _app(flaky: Flaky) -> FastAPI:
    router = APIRouter()

    async def flaky_answer(response: Response, request_id: str | None) -> dict[str, Any]:
        flaky.calls += 1
        flaky.seen_request_ids.append(request_id)
        if flaky.calls <= flaky.failures:
            response.status_code = 503
            response.headers["Retry-After"] = "0"
            return {"error": {"code": "unavailable", "message": "warming up", "details": None}}
        return {"calls": flaky.calls}

    @router.get("/v1/flaky")
    async def get_flaky(response: Response, x_request_id: str | None = Header(default=None)) -> dict[str, Any]:
        return await flaky_answer(response, x_request_id)

    @router.post("/v1/flaky")
    async def post_flaky(response: Response, x_request_id: str | None = Header(default=None)) -> dict[str, Any]:
        return await flaky_answer(response, x_request_id)

    @router.get("/v1/memories/{memory_id}")
    async def missing(memory_id: str) -> None:
        raise NotFoundError(f"memory {memory_id} not found", details={"id": memory_id})

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[dict[str, Any]]:
        yield {"readiness": []}

    settings = CoreSettings(service_name="memory-gateway")
    return build_app(
        settings=settings, title="memory-gateway", version="1.2.3", description="", lifespan=lifespan, routers=[router]
    )


@pytest.fixture
def flaky() -> Flaky:
    return Flaky()


@pytest.fixture
async def client(flaky: Flaky) -> AsyncIterator[MemoryGatewayClient]:
    async with serve(_app(flaky)) as url:
        client = MemoryGatewayClient(url, timeout=2.0, retries=2)
        yield client
        await client.aclose()


async def test_get_is_retried_until_the_service_answers(client: MemoryGatewayClient, flaky: Flaky) -> None:
    flaky.failures = 2
    response = await client.request("GET", "/v1/flaky")
    assert response.json() == {"calls": 3}


async def test_retries_are_bounded(client: MemoryGatewayClient, flaky: Flaky) -> None:
    flaky.failures = 10
    with pytest.raises(UpstreamError, match="memory-gateway failed with 503: warming up"):
        await client.request("GET", "/v1/flaky")
    assert flaky.calls == 3


async def test_post_without_idempotency_key_is_not_repeated(client: MemoryGatewayClient, flaky: Flaky) -> None:
    flaky.failures = 1
    with pytest.raises(UpstreamError):
        await client.request("POST", "/v1/flaky")
    assert flaky.calls == 1


async def test_post_with_idempotency_key_is_retried(client: MemoryGatewayClient, flaky: Flaky) -> None:
    flaky.failures = 1
    response = await client.request("POST", "/v1/flaky", idempotency_key="remember-42")
    assert response.json() == {"calls": 2}


async def test_4xx_keeps_status_code_and_message(client: MemoryGatewayClient) -> None:
    with pytest.raises(RemoteServiceError) as caught:
        await client.request("GET", "/v1/memories/m-1")
    assert caught.value.status_code == 404
    assert caught.value.code == "not_found"
    assert caught.value.message == "memory-gateway: memory m-1 not found"
    assert caught.value.details == {"id": "m-1"}


async def test_request_id_crosses_the_call(client: MemoryGatewayClient, flaky: Flaky) -> None:
    token = set_request_id("req-from-planner")
    try:
        await client.request("GET", "/v1/flaky")
    finally:
        reset_request_id(token)
    assert flaky.seen_request_ids == ["req-from-planner"]


async def test_health_and_probe_are_typed(client: MemoryGatewayClient) -> None:
    health = await client.healthz()
    assert (health.service, health.version) == ("memory-gateway", "1.2.3")
    assert await client.probe() == "memory-gateway 1.2.3"
    assert (await client.readyz()).status == "ok"


async def test_unreachable_service_is_503_unavailable() -> None:
    client = MemoryGatewayClient(f"http://127.0.0.1:{free_port()}", timeout=0.5, retries=1)
    try:
        with pytest.raises(UnavailableError, match="memory-gateway is unreachable"):
            await client.healthz()
    finally:
        await client.aclose()
