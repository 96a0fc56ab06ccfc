"""The memory-gateway over a hung, then a stopped Postgres: remember and recall answer a 503 `unavailable`
naming Postgres within about 3 s (they used to wait 20 s, or simply hang), `/readyz` within its bound, and
both work again once Postgres answers, with no restart.

Its own Postgres (`pma_core.testing.postgres_faults`), never the session's shared one; the gateway's lifespan
migrates it. As in conftest.py: embedded Qdrant, the offline hashing embedder.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Coroutine, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from memory_gateway.main import create_app
from memory_gateway.settings import MemorySettings, Settings
from pma_core.settings import EmbeddingSettings, PostgresSettings, QdrantSettings, ValkeySettings
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
async def gateway(
    postgres: FaultyPostgres, valkey_settings: ValkeySettings, tmp_path: Path
) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(
        postgres=PostgresSettings(url=SecretStr(postgres.url), pool_min_size=1, pool_max_size=4),
        valkey=valkey_settings,
        qdrant=QdrantSettings(path=tmp_path / "qdrant"),
        embedding=EmbeddingSettings(provider="hashing"),
        # The repair loop runs often, so it meets the outage many times.
        memory=MemorySettings(index_repair_interval_seconds=0.2),
    )
    async with serve(create_app(settings)) as url, httpx.AsyncClient(base_url=url, timeout=60.0) as client:
        yield client


def _remember(gateway: httpx.AsyncClient, text: str) -> Coroutine[Any, Any, httpx.Response]:
    return gateway.post("/v1/remember", json={"user_id": USER, "text": text})


def _recall(gateway: httpx.AsyncClient) -> Coroutine[Any, Any, httpx.Response]:
    # A query never asked before, so the recall cache (Valkey) cannot answer it.
    return gateway.post("/v1/recall", json={"user_id": USER, "query": f"annual report {uuid.uuid4().hex}"})


async def _assert_remembers_again(gateway: httpx.AsyncClient, text: str) -> None:
    started = time.perf_counter()
    for _ in range(int(RECOVERY_SECONDS / 0.2)):
        if (await _recall(gateway)).status_code == 200:
            break
        await asyncio.sleep(0.2)
    print(f"answering again {time.perf_counter() - started:.2f}s after Postgres did")
    remembered = await _remember(gateway, text)
    assert remembered.status_code == 201, remembered.text
    recalled = await gateway.post("/v1/recall", json={"user_id": USER, "query": text})
    assert recalled.status_code == 200
    assert remembered.json()["memory"]["id"] in {hit["memory"]["id"] for hit in recalled.json()["hits"]}
    ready = {d["name"]: d["status"] for d in (await gateway.get("/readyz")).json()["dependencies"]}
    assert ready["postgres"] == "ok"


@pytest.mark.timeout(120)
async def test_a_frozen_postgres_is_a_prompt_503_on_remember_and_recall_then_both_work_again(
    postgres: FaultyPostgres, gateway: httpx.AsyncClient
) -> None:
    assert (await _remember(gateway, "The annual report is due in March")).status_code == 201
    with postgres.frozen():
        assert_postgres_unavailable(
            *await timed(_remember(gateway, "Frozen: the board meets on Friday")), "remember (frozen)"
        )
        assert_postgres_unavailable(*await timed(_recall(gateway)), "recall (frozen)")
        await assert_readyz_fails_on_postgres(gateway)
        await asyncio.sleep(1.0)  # the repair loop (every 0.2 s) meets the hung server too, and must not break it
    await _assert_remembers_again(gateway, "Thawed: the auditors arrive on Monday")


@pytest.mark.timeout(120)
async def test_a_stopped_postgres_is_a_prompt_503_then_a_restarted_one_serves_remember_and_recall(
    postgres: FaultyPostgres, gateway: httpx.AsyncClient
) -> None:
    assert (await _remember(gateway, "The budget review is in April")).status_code == 201
    postgres.stop()
    try:
        assert_postgres_unavailable(
            *await timed(_remember(gateway, "Stopped: the offsite is in June")), "remember (stopped)"
        )
        assert_postgres_unavailable(*await timed(_recall(gateway)), "recall (stopped)")
        await assert_readyz_fails_on_postgres(gateway)
    finally:
        postgres.start()
    await _assert_remembers_again(gateway, "Restarted: the launch is in September")
