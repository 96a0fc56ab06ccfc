"""The planner over a hung, then a stopped Postgres: a 503 `unavailable` naming Postgres within about 3 s on a
read and a write, `/readyz` within its bound, and plans again once Postgres answers, with no restart.

Its own Postgres (`pma_core.testing.postgres_faults`), never the session's shared one; the planner's lifespan
migrates it. Otherwise conftest.py's settings (offline planner, the services it calls down), without client
retries.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from planner_engine.main import create_app
from planner_engine.settings import Settings
from pma_core.settings import (
    HttpSettings,
    PostgresSettings,
)
from pma_core.testing.postgres_faults import (
    RECOVERY_SECONDS,
    FaultyPostgres,
    assert_postgres_unavailable,
    assert_readyz_fails_on_postgres,
    faulty_postgres,
    timed,
)
from pma_core.testing.serve import serve

USER = "outage-user"


@pytest.fixture(scope="module")
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FaultyPostgres]:
    with faulty_postgres(Path(tmp_path_factory.mktemp("faulty-pg"))) as server:
        yield server


@pytest.fixture
async def planner(postgres: FaultyPostgres, planner_settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    settings = planner_settings.model_copy(
        update={
            "postgres": PostgresSettings(url=SecretStr(postgres.url), pool_min_size=1, pool_max_size=4),
            "http": HttpSettings(client_retries=0),
        }
    )
    started = time.perf_counter()
    async with serve(create_app(settings)) as url, httpx.AsyncClient(base_url=url, timeout=60.0) as client:
        print(f"planner up (private postgres migrated) in {time.perf_counter() - started:.2f}s")
        yield client


async def _list(planner: httpx.AsyncClient) -> httpx.Response:
    return await planner.get("/v1/plans", params={"user_id": USER})


async def _create(planner: httpx.AsyncClient) -> httpx.Response:
    return await planner.post("/v1/plans", json={"user_id": USER, "intent": "Write the annual report"})


async def _assert_plans_again(planner: httpx.AsyncClient) -> None:
    started = time.perf_counter()
    for _ in range(int(RECOVERY_SECONDS / 0.2)):
        if (await _list(planner)).status_code == 200:
            break
        await asyncio.sleep(0.2)
    print(f"planning again {time.perf_counter() - started:.2f}s after Postgres answered")
    created = await _create(planner)
    assert created.status_code == 201, created.text
    listed = await _list(planner)
    assert listed.status_code == 200
    assert created.json()["id"] in {plan["id"] for plan in listed.json()["plans"]}
    ready = {d["name"]: d["status"] for d in (await planner.get("/readyz")).json()["dependencies"]}
    assert ready["postgres"] == "ok"


@pytest.mark.timeout(120)
async def test_a_frozen_postgres_is_a_prompt_503_then_the_planner_plans_again(
    postgres: FaultyPostgres, planner: httpx.AsyncClient
) -> None:
    assert (await _create(planner)).status_code == 201
    with postgres.frozen():
        assert_postgres_unavailable(*await timed(_list(planner)), "GET /v1/plans (frozen)")
        assert_postgres_unavailable(*await timed(_create(planner)), "POST /v1/plans (frozen)")
        await assert_readyz_fails_on_postgres(planner)
    await _assert_plans_again(planner)


@pytest.mark.timeout(120)
async def test_a_stopped_postgres_is_a_prompt_503_then_a_restarted_one_plans_again(
    postgres: FaultyPostgres, planner: httpx.AsyncClient
) -> None:
    assert (await _list(planner)).status_code == 200
    postgres.stop()
    try:
        assert_postgres_unavailable(*await timed(_list(planner)), "GET /v1/plans (stopped)")
        assert_postgres_unavailable(*await timed(_create(planner)), "POST /v1/plans (stopped)")
        await assert_readyz_fails_on_postgres(planner)
    finally:
        postgres.start()
    await _assert_plans_again(planner)
