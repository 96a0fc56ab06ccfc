"""The four services over one Postgres that stops in the middle of a plan's scheduling and comes back.

While it is down every service answers a prompt 503 naming Postgres (never a hang); once it is back they all
answer again without a restart, the interrupted scheduling completes (the planner's hand-over sweep and the
scheduler's run sweep pick it up), and nothing is made twice: one run reported, one block set on the feed.
A private Postgres (`pma_core.testing.postgres_faults`), never the session's shared one.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from four_services import Clients, start_four_services, until_scheduled
from pydantic import SecretStr

from pma_core.clock import utc_now
from pma_core.contracts.plans import PlanAccept, PlanCreate
from pma_core.settings import PostgresSettings, ValkeySettings
from pma_core.testing.postgres_faults import (
    RECOVERY_SECONDS,
    FaultyPostgres,
    assert_postgres_unavailable,
    faulty_postgres,
    timed,
)

USER = "outage-together"


@pytest.fixture
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FaultyPostgres]:
    with faulty_postgres(Path(tmp_path_factory.mktemp("faulty-pg"))) as server:
        yield server


@pytest.fixture
async def clients(postgres: FaultyPostgres, valkey_settings: ValkeySettings, tmp_path: Path) -> AsyncIterator[Clients]:
    settings = PostgresSettings(url=SecretStr(postgres.url), pool_min_size=1, pool_max_size=4)
    async with AsyncExitStack() as running:
        urls = await start_four_services(running, postgres=settings, valkey=valkey_settings, data_dir=tmp_path)
        clients = Clients(urls)
        running.push_async_callback(clients.aclose)
        yield clients


def _reads(urls: Clients) -> dict[str, tuple[str, str, dict[str, object]]]:
    """A read of each service that needs Postgres: (base URL, method + path, params or body)."""
    day = utc_now().date()
    return {
        "memory-gateway": (urls.urls.memory_gateway_url, "POST /v1/recall", {"user_id": USER, "query": "report"}),
        "planner-engine": (urls.urls.planner_engine_url, "GET /v1/plans", {"user_id": USER}),
        "scheduler-engine": (
            urls.urls.scheduler_engine_url,
            "GET /v1/blocks",
            {"user_id": USER, "from": f"{day}T00:00:00Z", "to": f"{day + timedelta(days=14)}T00:00:00Z"},
        ),
        "observer-agent": (urls.urls.observer_agent_url, "GET /v1/reflections", {"user_id": USER}),
    }


async def _read(http: httpx.AsyncClient, base: str, call: str, args: dict[str, object]) -> httpx.Response:
    method, path = call.split(" ")
    if method == "POST":
        return await http.post(f"{base}{path}", json=args)
    return await http.get(f"{base}{path}", params={k: str(v) for k, v in args.items()})


async def _until_answered(http: httpx.AsyncClient, base: str, call: str, args: dict[str, object]) -> float:
    started = time.perf_counter()
    async with asyncio.timeout(RECOVERY_SECONDS):
        while True:
            if (await _read(http, base, call, args)).status_code == 200:
                return time.perf_counter() - started
            await asyncio.sleep(0.2)


async def test_postgres_stopped_mid_scheduling_is_a_prompt_503_everywhere_then_all_recover_and_schedule_once(
    postgres: FaultyPostgres, clients: Clients
) -> None:
    planner = clients.planner
    draft = await planner.create_plan(PlanCreate(user_id=USER, intent="Write the quarterly report, send it out"))
    accepted = await planner.accept_plan(draft.id, PlanAccept(user_id=USER, schedule=True))
    postgres.stop()  # the hand-over and the run are in flight (or just done: either way, once)

    async with httpx.AsyncClient(timeout=30.0) as http:
        for service, (base, call, args) in _reads(clients).items():
            response, seconds = await timed(_read(http, base, call, args))
            assert_postgres_unavailable(response, seconds, f"{service} {call}")

        print(f"postgres started again in {postgres.start():.2f}s")
        for service, (base, call, args) in _reads(clients).items():
            print(f"{service} answers again after {await _until_answered(http, base, call, args):.2f}s")

        plan = await until_scheduled(planner, accepted, seconds=60)
        outcome = plan.scheduling.outcome
        assert outcome is not None
        assert outcome.status == "succeeded"
        run = await clients.scheduler.get_run(USER, outcome.run_id)
        feed = (await http.get(await clients.scheduler.feed_url(USER))).text

    listed = await clients.scheduler.list_blocks(USER, utc_now() - timedelta(days=1), utc_now() + timedelta(days=60))
    assert sorted(b.id for b in listed.blocks) == sorted(b.id for b in run.blocks)  # one run's blocks, no others
    assert {b.task_id for b in run.blocks} == {task.id for task in plan.tasks}
    assert feed.count("BEGIN:VEVENT") == len(run.blocks)
