"""A hung Postgres (SIGSTOP: a stalled disk, a network partition) and a stopped one are a 503 `unavailable`
naming Postgres within seconds on every endpoint, `/readyz` answers within its own bound, and the same app
answers again once Postgres does, without a restart.

A private Postgres (`pma_core.testing.postgres_faults`), never the session's shared one: freezing it hurts no
other test. The app is the shared `build_app` with the real lifespan resources (`open_core_resources`) and two
routes that use the pool the two ways the adapters do (the pool's own `fetchval`; a connection acquired for a
transaction).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import APIRouter, FastAPI, Request
from pydantic import SecretStr

from pma_core.app import LifespanState, build_app
from pma_core.resources import CoreResources, core_readiness, open_core_resources
from pma_core.settings import CoreSettings, PostgresSettings, ValkeySettings
from pma_core.testing.postgres_faults import (
    RECOVERY_SECONDS,
    FaultyPostgres,
    assert_postgres_unavailable,
    assert_readyz_fails_on_postgres,
    faulty_postgres,
    timed,
)
from pma_core.testing.serve import serve

router = APIRouter()


def _pool(request: Request) -> Any:
    resources: CoreResources = request.state.resources
    return resources.pool


@router.get("/v1/read")
async def read(request: Request) -> dict[str, Any]:
    return {"value": await _pool(request).fetchval("SELECT 41 + 1")}


@router.post("/v1/write")
async def write(request: Request) -> dict[str, Any]:
    async with _pool(request).acquire() as conn, conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(7)")
        return {"value": await conn.fetchval("SELECT 42")}


@router.get("/v1/other-oserror")
async def other_oserror() -> None:
    raise OSError("the disk of something else is full")


@router.get("/v1/other-timeout")
async def other_timeout() -> None:
    await asyncio.wait_for(asyncio.sleep(1), timeout=0.01)


def _app(settings: CoreSettings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[LifespanState[CoreResources]]:
        async with open_core_resources(settings) as core:
            yield LifespanState(resources=core, readiness=core_readiness(core))

    return build_app(settings=settings, version="0", description="d", lifespan=lifespan, routers=[router])


@pytest.fixture(scope="module")
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FaultyPostgres]:
    started = time.perf_counter()
    with faulty_postgres(Path(tmp_path_factory.mktemp("faulty-pg"))) as server:
        print(f"private postgres ready in {time.perf_counter() - started:.2f}s")
        yield server


@pytest.fixture
async def http(postgres: FaultyPostgres, valkey_settings: ValkeySettings) -> AsyncIterator[httpx.AsyncClient]:
    # The default timeouts (the ones under test); a pool of one, so a burst of requests has to wait for it.
    pg = PostgresSettings(url=SecretStr(postgres.url), pool_min_size=1, pool_max_size=1, auto_migrate=False)
    settings = CoreSettings(service_name="frozen-test", postgres=pg, valkey=valkey_settings)
    async with serve(_app(settings)) as url, httpx.AsyncClient(base_url=url, timeout=60.0) as client:
        yield client


async def _assert_answers_again(http: httpx.AsyncClient) -> None:
    started = time.perf_counter()
    for _ in range(int(RECOVERY_SECONDS / 0.2)):
        if (await http.get("/v1/read")).status_code == 200:
            break
        await asyncio.sleep(0.2)
    print(f"answering again {time.perf_counter() - started:.2f}s after Postgres did")
    # Every connection the pool holds now works: none left over from the outage poisons a request.
    for _ in range(6):
        assert (await http.get("/v1/read")).json() == {"value": 42}
        assert (await http.post("/v1/write")).json() == {"value": 42}
    assert (await http.get("/readyz")).status_code == 200


async def _warm(http: httpx.AsyncClient) -> None:
    assert (await http.get("/v1/read")).json() == {"value": 42}
    assert (await http.post("/v1/write")).json() == {"value": 42}
    assert (await http.get("/readyz")).status_code == 200


@pytest.mark.timeout(90)
async def test_a_frozen_postgres_is_a_prompt_503_on_every_endpoint_then_answers_again(
    postgres: FaultyPostgres, http: httpx.AsyncClient
) -> None:
    await _warm(http)
    with postgres.frozen():
        # A pooled connection (idle, looks fine) meets the hung server: the statement timeout.
        assert_postgres_unavailable(*await timed(http.get("/v1/read")), "GET /v1/read (frozen)")
        assert_postgres_unavailable(*await timed(http.post("/v1/write")), "POST /v1/write (frozen)")
        await assert_readyz_fails_on_postgres(http)
        # More requests at once than the pool has connections: each waits for one at most the acquire timeout,
        # not in turn behind the others.
        burst = await asyncio.gather(*(timed(http.get("/v1/read")) for _ in range(6)))
        for index, (response, seconds) in enumerate(burst):
            assert_postgres_unavailable(response, seconds, f"GET /v1/read {index + 1} of 6 at once (frozen)")
    await _assert_answers_again(http)


@pytest.mark.timeout(120)
async def test_a_stopped_postgres_is_a_prompt_503_then_a_restarted_one_answers_without_restarting_the_app(
    postgres: FaultyPostgres, http: httpx.AsyncClient
) -> None:
    await _warm(http)
    postgres.stop()
    try:
        assert_postgres_unavailable(*await timed(http.get("/v1/read")), "GET /v1/read (stopped)")
        assert_postgres_unavailable(*await timed(http.post("/v1/write")), "POST /v1/write (stopped)")
        await assert_readyz_fails_on_postgres(http)
    finally:
        print(f"restarted on the same port in {postgres.start():.2f}s")
    await _assert_answers_again(http)


async def test_other_oserrors_and_timeouts_stay_internal_errors(http: httpx.AsyncClient) -> None:
    # Only what came up through the driver is Postgres's; the same types from anything else are bugs (500).
    for path in ("/v1/other-oserror", "/v1/other-timeout"):
        response = await http.get(path)
        assert response.status_code == 500, path
        assert response.json()["error"]["code"] == "internal_error"
