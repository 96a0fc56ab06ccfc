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
from pma_core.testing.postgres_faults import FaultyPostgres, faulty_postgres
from pma_core.testing.serve import serve

# The bound, "about 3 s": by the defaults a statement on a hung server gives up after 2.5 s and its
# connection is handed back (or closed) within 0.5 s more; a wait for a connection gives up after 2 s. One
# second of slack for a loaded machine; the old defaults took 20 s, and each bound removed alone takes 4.5 s
# or more.
ABOUT_3_SECONDS = 4.0
# /readyz's own budget (2 s) plus the same slack.
READYZ_SECONDS = 3.0
RECOVERY_SECONDS = 10.0

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


async def _timed(http: httpx.AsyncClient, method: str, path: str) -> tuple[httpx.Response, float]:
    started = time.perf_counter()
    response = await http.request(method, path)
    return response, time.perf_counter() - started


def _assert_postgres_unavailable(response: httpx.Response, seconds: float, what: str) -> None:
    print(f"{what}: {response.status_code} in {seconds:.2f}s: {response.text[:160]}")
    assert response.status_code == 503, response.text
    error = response.json()["error"]
    assert error["code"] == "unavailable"
    assert "postgres" in error["message"]
    assert error["details"]["dependency"] == "postgres"
    assert seconds < ABOUT_3_SECONDS, f"{what} took {seconds:.2f}s"


async def _assert_readyz_fails_on_postgres(http: httpx.AsyncClient) -> None:
    response, seconds = await _timed(http, "GET", "/readyz")
    print(f"GET /readyz: {response.status_code} in {seconds:.2f}s: {response.text[:300]}")
    assert response.status_code == 503
    postgres = next(d for d in response.json()["dependencies"] if d["name"] == "postgres")
    assert postgres["status"] == "fail"
    assert "postgres" in postgres["detail"]
    assert seconds < READYZ_SECONDS, f"/readyz took {seconds:.2f}s"


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
        _assert_postgres_unavailable(*await _timed(http, "GET", "/v1/read"), "GET /v1/read (frozen)")
        _assert_postgres_unavailable(*await _timed(http, "POST", "/v1/write"), "POST /v1/write (frozen)")
        await _assert_readyz_fails_on_postgres(http)
        # More requests at once than the pool has connections: each waits for one at most the acquire timeout,
        # not in turn behind the others.
        burst = await asyncio.gather(*(_timed(http, "GET", "/v1/read") for _ in range(6)))
        for index, (response, seconds) in enumerate(burst):
            _assert_postgres_unavailable(response, seconds, f"GET /v1/read {index + 1} of 6 at once (frozen)")
    await _assert_answers_again(http)


@pytest.mark.timeout(120)
async def test_a_stopped_postgres_is_a_prompt_503_then_a_restarted_one_answers_without_restarting_the_app(
    postgres: FaultyPostgres, http: httpx.AsyncClient
) -> None:
    await _warm(http)
    postgres.stop()
    try:
        _assert_postgres_unavailable(*await _timed(http, "GET", "/v1/read"), "GET /v1/read (stopped)")
        _assert_postgres_unavailable(*await _timed(http, "POST", "/v1/write"), "POST /v1/write (stopped)")
        await _assert_readyz_fails_on_postgres(http)
    finally:
        print(f"restarted on the same port in {postgres.start():.2f}s")
    await _assert_answers_again(http)


async def test_other_oserrors_and_timeouts_stay_internal_errors(http: httpx.AsyncClient) -> None:
    # Only what came up through the driver is Postgres's; the same types from anything else are bugs (500).
    for path in ("/v1/other-oserror", "/v1/other-timeout"):
        response = await http.get(path)
        assert response.status_code == 500, path
        assert response.json()["error"]["code"] == "internal_error"
