"""The four services over a Valkey that stops and comes back: they stay up, degraded (every `/readyz` 200
"degraded" naming Valkey), remembering, recalling, planning and scheduling without their caches; only
short-term memory (sessions live in Valkey) answers a prompt 503; once Valkey is back they are "ok" again
with no restart, and recall is cached again. A private Valkey, never the session's shared one.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack
from pathlib import Path

import httpx
import pytest
from four_services import Clients, start_four_services, until_scheduled
from pydantic import SecretStr

from pma_core.contracts.memory import MemoryCreate
from pma_core.contracts.plans import PlanAccept, PlanCreate
from pma_core.embedded import EmbeddedValkey
from pma_core.embedded.process import free_port
from pma_core.settings import PostgresSettings, ValkeySettings

USER = "valkey-outage"
RECOVERY_SECONDS = 10.0


@pytest.fixture
def valkey(tmp_path: Path) -> Iterator[EmbeddedValkey]:
    server = EmbeddedValkey(tmp_path / "valkey", port=free_port(), persist=False)
    server.start()
    yield server
    server.stop()


@pytest.fixture
async def clients(
    postgres_settings: PostgresSettings, valkey: EmbeddedValkey, tmp_path: Path
) -> AsyncIterator[Clients]:
    settings = ValkeySettings(url=SecretStr(valkey.url()), key_prefix="outage:", socket_timeout_seconds=0.5)
    async with AsyncExitStack() as running:
        urls = await start_four_services(running, postgres=postgres_settings, valkey=settings, data_dir=tmp_path)
        clients = Clients(urls)
        running.push_async_callback(clients.aclose)
        yield clients


def _bases(clients: Clients) -> list[str]:
    urls = clients.urls
    return [urls.memory_gateway_url, urls.planner_engine_url, urls.scheduler_engine_url, urls.observer_agent_url]


async def _readiness(http: httpx.AsyncClient, clients: Clients) -> list[tuple[int, str, str]]:
    """Each service's (status code, overall status, Valkey's status)."""
    found = []
    for base in _bases(clients):
        response = await http.get(f"{base}/readyz")
        report = response.json()
        valkey = next(d for d in report["dependencies"] if d["name"] == "valkey")
        found.append((response.status_code, report["status"], valkey["status"]))
    return found


async def test_valkey_stopped_leaves_every_service_degraded_but_working_then_ok_again(
    valkey: EmbeddedValkey, clients: Clients
) -> None:
    await clients.memory.remember(MemoryCreate(user_id=USER, kind="preference", text="No meetings on Friday"))
    assert (await clients.memory.recall(USER, "meetings friday")).hits
    assert (await clients.memory.recall(USER, "meetings friday")).cached
    valkey.stop()

    async with httpx.AsyncClient(timeout=30.0) as http:
        assert await _readiness(http, clients) == [(200, "degraded", "degraded")] * 4
        started = time.perf_counter()
        turn = await http.post(
            f"{clients.urls.memory_gateway_url}/v1/sessions/standup/turns",
            json={"user_id": USER, "role": "user", "content": "what is on today?"},
        )
        assert (turn.status_code, turn.json()["error"]["code"]) == (503, "unavailable")
        assert time.perf_counter() - started < 3.0
        await clients.memory.remember(MemoryCreate(user_id=USER, kind="fact", text="The report is due Monday"))
        recalled = await clients.memory.recall(USER, "report due")
        assert [hit.memory.text for hit in recalled.hits][:1] == ["The report is due Monday"]
        assert not recalled.cached
        draft = await clients.planner.create_plan(PlanCreate(user_id=USER, intent="Write the report"))
        accepted = await clients.planner.accept_plan(draft.id, PlanAccept(user_id=USER, schedule=True))
        plan = await until_scheduled(clients.planner, accepted, seconds=30)
        assert plan.scheduling.outcome is not None
        assert plan.scheduling.outcome.status == "succeeded"

        valkey.start()
        async with asyncio.timeout(RECOVERY_SECONDS):
            while True:
                if await _readiness(http, clients) == [(200, "ok", "ok")] * 4:
                    break
                await asyncio.sleep(0.2)
    await clients.memory.recall(USER, "report due")
    assert (await clients.memory.recall(USER, "report due")).cached
