"""Two replicas of the planner, the scheduler and the observer over one Postgres and Valkey (and one
memory-gateway: the embedded Qdrant belongs to one process), every background loop running on every
replica on a short interval, the test's calls alternating between replicas and each replica calling the
other replica of the services it uses (as Traefik would spread them).

Several plans of three users go accept -> schedule -> executions -> daily reflection, two of them for the
same user at once through different replicas, and each piece of work is found done exactly once: each
hand-over made once, each run executed once (its `run_attempts`), each Google Calendar event inserted once
and none deleted, each ICS block once in the feed, each reflection's Coda row written once, each
`plan.created` event once in memory. docs/scaling.md reports the figures this test prints (`-s`).
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from uuid import UUID

import asyncpg
import httpx
import pytest
from four_services import FourSettings, four_apps, four_settings, loopback_urls, until_scheduled
from pydantic import SecretStr

from memory_gateway.settings import MemorySettings as MemoryTuning
from observer_agent.settings import CodaSettings, ObserverSettings
from planner_engine.settings import PlannerSettings as PlannerTuning
from pma_core.clients import MemoryGatewayClient, ObserverAgentClient, PlannerEngineClient, SchedulerEngineClient
from pma_core.contracts.executions import ExecutionCreate
from pma_core.contracts.plans import PlanAccept, PlanCreate, PlanRead
from pma_core.contracts.reflections import DailyTrigger, ReflectionRead
from pma_core.contracts.scheduling import SchedulingProfile
from pma_core.embedded.process import free_port
from pma_core.settings import PostgresSettings, ValkeySettings
from pma_core.testing.fake_coda import DEFAULT_TOKEN, FakeCoda
from pma_core.testing.fake_google_calendar import FakeGoogleCalendar
from pma_core.testing.serve import serve
from scheduler_engine.adapters.google_calendar import event_id
from scheduler_engine.settings import GoogleSettings, SchedulerSettings

GOOGLE_USER = "gina"  # her blocks go to the fake Google Calendar; the others' to their ICS feeds
USERS = (GOOGLE_USER, "ivan", "iris")
INTENTS = ("Write and send the weekly newsletter", "Prepare the quarterly board deck")
DOC, TABLE = "doc-replicas", "grid-thread"
COLUMNS = {"c-key": "Key", "c-title": "Title", "c-summary": "Summary"}
LOOP_SECONDS = 0.2  # every background loop of every replica


@dataclass
class Replicas:
    """A client of each replica (two of each but the memory-gateway) and the third parties they use."""

    memory: MemoryGatewayClient
    planners: list[PlannerEngineClient]
    schedulers: list[SchedulerEngineClient]
    observers: list[ObserverAgentClient]
    google: FakeGoogleCalendar
    coda: FakeCoda

    def planner(self, n: int) -> PlannerEngineClient:
        return self.planners[n % len(self.planners)]

    def scheduler(self, n: int) -> SchedulerEngineClient:
        return self.schedulers[n % len(self.schedulers)]

    def observer(self, n: int) -> ObserverAgentClient:
        return self.observers[n % len(self.observers)]

    async def aclose(self) -> None:
        for client in (self.memory, *self.planners, *self.schedulers, *self.observers):
            await client.aclose()


@pytest.fixture
def google() -> Iterator[FakeGoogleCalendar]:
    with FakeGoogleCalendar() as server:
        yield server


@pytest.fixture
def coda() -> Iterator[FakeCoda]:
    with FakeCoda(mutation_delay=0.1) as fake:
        fake.add_table(DOC, TABLE, columns=COLUMNS, name="Daily Thread")
        yield fake


def _replica_settings(base: FourSettings, google: FakeGoogleCalendar, coda: FakeCoda, token: str) -> FourSettings:
    """Short loops everywhere, the Google user's calendar on the fake Google, reflections to the fake Coda."""
    return FourSettings(
        memory=base.memory.model_copy(update={"memory": MemoryTuning(index_repair_interval_seconds=LOOP_SECONDS)}),
        planner=base.planner.model_copy(update={"planner": PlannerTuning(
            memory_timeout_seconds=5.0, handover_retry_interval_seconds=LOOP_SECONDS,
        )}),
        scheduler=base.scheduler.model_copy(update={
            "scheduler": SchedulerSettings(
                time_limit_seconds=1.0, num_workers=1, sweep_interval_seconds=LOOP_SECONDS,
                public_base_url=base.scheduler.scheduler.public_base_url,
            ),
            "google": GoogleSettings(
                client_id=google.client_id, client_secret=google.client_secret, refresh_token=token,
                user_id=GOOGLE_USER, token_uri=google.token_url, api_endpoint=google.url,
            ),
        }),
        observer=base.observer.model_copy(update={
            "observer": ObserverSettings(
                sweep_interval_seconds=LOOP_SECONDS, post_wait_seconds=2.0, poll_seconds=0.05,
                public_base_url=base.observer.observer.public_base_url,
            ),
            "coda": CodaSettings(
                api_token=SecretStr(DEFAULT_TOKEN), base_url=coda.url, doc_id=DOC, table_id=TABLE,
                column_key="c-key", column_title="c-title", column_summary="c-summary", backoff_seconds=0.05,
            ),
        }),
    )  # fmt: skip


@pytest.fixture
async def replicas(
    postgres_settings: PostgresSettings,
    valkey_settings: ValkeySettings,
    tmp_path: Path,
    google: FakeGoogleCalendar,
    coda: FakeCoda,
) -> AsyncIterator[Replicas]:
    token = google.add_user(GOOGLE_USER)
    memory_port = free_port()
    ports = [{"memory": memory_port} | {name: free_port() for name in ("planner", "scheduler", "observer")}
             for _ in range(2)]  # fmt: skip
    async with AsyncExitStack() as running:
        for replica in (0, 1):
            # Replica n calls the other replica of each service it uses (the memory-gateway is one).
            urls = loopback_urls(ports[1 - replica])
            base = four_settings(postgres=postgres_settings, valkey=valkey_settings, urls=urls, data_dir=tmp_path)
            apps = four_apps(_replica_settings(base, google, coda, token))
            for name, app in apps.items():
                if name != "memory" or replica == 0:
                    await running.enter_async_context(serve(app, port=ports[replica][name]))
        own = [loopback_urls(p) for p in ports]
        clients = Replicas(
            memory=MemoryGatewayClient(own[0].memory_gateway_url, timeout=20.0, retries=0),
            planners=[PlannerEngineClient(u.planner_engine_url, timeout=20.0, retries=0) for u in own],
            schedulers=[SchedulerEngineClient(u.scheduler_engine_url, timeout=20.0, retries=0) for u in own],
            observers=[ObserverAgentClient(u.observer_agent_url, timeout=30.0, retries=0) for u in own],
            google=google, coda=coda,
        )  # fmt: skip
        running.push_async_callback(clients.aclose)
        yield clients


async def _plans_scheduled(stack: Replicas) -> list[PlanRead]:
    """Each user's plans, made on one planner replica and accepted on the other, all at once."""
    for n, user in enumerate(USERS):
        await stack.scheduler(n).put_profile(user, SchedulingProfile(time_zone="UTC"))
    made = [
        await stack.planner(n).create_plan(PlanCreate(user_id=user, intent=intent))
        for n, (user, intent) in enumerate((u, i) for u in USERS for i in INTENTS)
    ]
    await asyncio.gather(*(
        stack.planner(n + 1).accept_plan(plan.id, PlanAccept(user_id=plan.user_id, schedule=True))
        for n, plan in enumerate(made)
    ))  # fmt: skip
    return [await until_scheduled(stack.planner(n), plan) for n, plan in enumerate(made)]


async def _executions_recorded(stack: Replicas, plans: list[PlanRead]) -> date:
    """The first task of each plan ran for half an hour; the day they ran on."""
    started = datetime.now(UTC) - timedelta(minutes=40)
    for n, plan in enumerate(plans):
        await stack.planner(n).record_execution(
            ExecutionCreate(
                user_id=plan.user_id, task_id=plan.tasks[0].id, status="succeeded", started_at=started,
                finished_at=started + timedelta(minutes=30), actual_minutes=30, idempotency_key=f"run-{plan.id}",
            )
        )  # fmt: skip
    return started.date()


async def _reflections_delivered(stack: Replicas, day: date) -> list[ReflectionRead]:
    """Each user's daily reflection, triggered on both observer replicas at once, once delivered."""
    made = []
    for user in USERS:
        both = await asyncio.gather(*(o.daily(DailyTrigger(user_id=user, date=day)) for o in stack.observers))
        [first], [second] = (run.reflections for run in both)
        assert first.id == second.id
        made.append(first)
    delivered = []
    async with asyncio.timeout(15):
        for n, reflection in enumerate(made):
            while True:
                got = await stack.observer(n).get_reflection(reflection.user_id, reflection.id)
                if got.posting.status == "posted" and got.indexed:
                    break
                await asyncio.sleep(0.05)
            delivered.append(got)
    return delivered


async def _runs(postgres_settings: PostgresSettings) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(postgres_settings.url.get_secret_value())
    try:
        return list(
            await conn.fetch("SELECT plan_id, status, run_attempts FROM scheduler_runs WHERE plan_id IS NOT NULL")
        )
    finally:
        await conn.close()


async def _feed_uids(stack: Replicas, user: str) -> list[str]:
    url = await stack.scheduler(0).feed_url(user)
    async with httpx.AsyncClient(timeout=10) as http:
        feed = (await http.get(url)).text
    return [line.removeprefix("UID:").strip() for line in feed.splitlines() if line.startswith("UID:")]


async def _assert_each_done_once(
    stack: Replicas, plans: list[PlanRead], reflections: list[ReflectionRead], postgres: PostgresSettings
) -> None:
    # Each hand-over made once (a sweep never took one a request was doing), each run executed once.
    assert [p.scheduling.attempts for p in plans] == [1] * len(plans)
    runs = await _runs(postgres)
    assert Counter(r["plan_id"] for r in runs) == Counter(p.id for p in plans)
    assert {(r["status"], r["run_attempts"]) for r in runs} == {("succeeded", 1)}

    # The Google user's events: each of her blocks inserted once, nothing deleted, no two blocks overlapping.
    window = (datetime.now(UTC) - timedelta(days=1), datetime.now(UTC) + timedelta(days=30))
    blocks = (await stack.scheduler(1).list_blocks(GOOGLE_USER, *window, statuses=["planned"])).blocks
    ours = {str(e["id"]) for e in stack.google.events(GOOGLE_USER) if str(e["id"]).startswith("pma")}
    assert ours == {event_id(b.id) for b in blocks}
    assert (stack.google.calls["insert"], stack.google.calls["delete"]) == (len(blocks), 0)
    assert all(a.end <= b.start for a, b in itertools.pairwise(blocks))
    for user in USERS[1:]:  # the ICS users: each block once in the feed
        uids = await _feed_uids(stack, user)
        assert len(uids) == len(set(uids)) > 0

    # Each reflection's row written once; each plan.created event once in memory.
    assert stack.coda.key_counts(DOC, TABLE, "c-key") == {r.key: 1 for r in reflections}
    assert len(stack.coda.requests("write")) == len(reflections)
    for user in USERS:
        events = await stack.memory.list_events(user, types=["plan.created"])
        assert Counter(UUID(str(e.payload["plan_id"])) for e in events) == {p.id: 1 for p in plans if p.user_id == user}


async def test_two_replicas_of_each_service_do_each_piece_of_work_once(
    replicas: Replicas, postgres_settings: PostgresSettings
) -> None:
    started = time.monotonic()
    plans = await _plans_scheduled(replicas)
    scheduled = time.monotonic()
    day = await _executions_recorded(replicas, plans)
    reflections = await _reflections_delivered(replicas, day)
    delivered = time.monotonic()
    await asyncio.sleep(5 * LOOP_SECONDS)  # a few more rounds of every loop on every replica: nothing is redone
    await _assert_each_done_once(replicas, plans, reflections, postgres_settings)
    print(
        f"\nreplicas: {len(plans)} plans of {len(USERS)} users scheduled in {scheduled - started:.1f} s,"
        f" {len(reflections)} reflections delivered {delivered - scheduled:.1f} s later;"
        f" google: {dict(replicas.google.calls)}; coda writes: {len(replicas.coda.requests('write'))}"
    )
