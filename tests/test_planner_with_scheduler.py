"""The planner-engine with the real scheduler-engine: an accepted plan is scheduled end to end.

planner -> POST /v1/schedule -> the scheduler solves in the background -> blocks in Postgres and on the
ICS feed -> the scheduler reports to the planner -> the plan's tasks show their blocks. Both on real ports
over one Postgres and Valkey, talking through the typed clients (the memory-gateway is down: planning
degrades without it, which is not what this tests).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

import httpx
import pytest
from four_services import until_scheduled

import planner_engine.main
import scheduler_engine.main
from planner_engine.settings import PlannerSettings as PlannerTuning
from planner_engine.settings import Settings as PlannerSettings
from pma_core.clients import PlannerEngineClient, SchedulerEngineClient
from pma_core.contracts.plans import PlanAccept, PlanCreate
from pma_core.contracts.scheduling import RunCreate
from pma_core.embedded.process import free_port
from pma_core.settings import EmbeddingSettings, HttpSettings, PostgresSettings, ServiceUrls, ValkeySettings
from pma_core.testing.fake_google_calendar import FakeGoogleCalendar
from pma_core.testing.serve import serve
from scheduler_engine.adapters.google_calendar import event_id
from scheduler_engine.settings import GoogleSettings, SchedulerSettings
from scheduler_engine.settings import Settings as SchedulerServiceSettings

USER = "erin"


@asynccontextmanager
async def _services(
    postgres_settings: PostgresSettings, valkey_settings: ValkeySettings, *, google: GoogleSettings | None = None
) -> AsyncIterator[tuple[PlannerEngineClient, SchedulerEngineClient]]:
    planner_port, scheduler_port = free_port(), free_port()
    urls = ServiceUrls(
        memory_gateway_url=f"http://127.0.0.1:{free_port()}",
        planner_engine_url=f"http://127.0.0.1:{planner_port}",
        scheduler_engine_url=f"http://127.0.0.1:{scheduler_port}",
    )
    common = {"postgres": postgres_settings, "valkey": valkey_settings, "services": urls}
    planner_settings = PlannerSettings(
        **common, embedding=EmbeddingSettings(provider="hashing"), http=HttpSettings(client_retries=0),
        planner=PlannerTuning(memory_timeout_seconds=0.5, handover_retry_interval_seconds=0.2),
    )  # fmt: skip
    scheduler_settings = SchedulerServiceSettings(
        **common,
        scheduler=SchedulerSettings(
            time_limit_seconds=1.0, num_workers=1, sweep_interval_seconds=0.3,
            public_base_url=urls.scheduler_engine_url,
        ),
        google=google or GoogleSettings(),
    )  # fmt: skip
    async with AsyncExitStack() as running:
        await running.enter_async_context(serve(planner_engine.main.create_app(planner_settings), port=planner_port))
        await running.enter_async_context(
            serve(scheduler_engine.main.create_app(scheduler_settings), port=scheduler_port)
        )
        planner = PlannerEngineClient(urls.planner_engine_url, timeout=15.0, retries=0)
        scheduler = SchedulerEngineClient(urls.scheduler_engine_url, timeout=15.0, retries=0)
        running.push_async_callback(planner.aclose)
        running.push_async_callback(scheduler.aclose)
        yield planner, scheduler


@pytest.fixture
async def services(
    postgres_settings: PostgresSettings, valkey_settings: ValkeySettings
) -> AsyncIterator[tuple[PlannerEngineClient, SchedulerEngineClient]]:
    async with _services(postgres_settings, valkey_settings) as both:
        yield both


async def test_an_accepted_plan_is_scheduled_and_its_tasks_show_their_blocks(
    services: tuple[PlannerEngineClient, SchedulerEngineClient],
) -> None:
    planner, scheduler = services
    draft = await planner.create_plan(
        PlanCreate(user_id=USER, intent="Launch the newsletter: write the welcome email, build the signup page")
    )
    accepted = await planner.accept_plan(draft.id, PlanAccept(user_id=USER, schedule=True))
    assert (accepted.status, accepted.scheduling.state) == ("scheduled", "requested")

    plan = await until_scheduled(planner, accepted, seconds=20)
    outcome = plan.scheduling.outcome
    assert outcome is not None
    assert outcome.run_id == accepted.scheduling.run_id
    assert (outcome.status, outcome.unscheduled_tasks) == ("succeeded", 0)
    run = await scheduler.get_run(USER, outcome.run_id)
    for task in plan.tasks:
        assert task.schedule is not None
        assert task.status == "scheduled"
        assert {b.block_id for b in task.schedule.blocks} == {b.id for b in run.blocks if b.task_id == task.id}
        placed = sum(int((b.end - b.start).total_seconds() // 60) for b in task.schedule.blocks)
        assert placed >= task.estimate_minutes  # whole 15-minute slots

    # The same blocks are on the user's ICS feed.
    async with httpx.AsyncClient() as http:
        feed = (await http.get(await scheduler.feed_url(USER))).text
    assert all(str(block.id) in feed for block in run.blocks)


async def test_a_run_on_demand_reads_the_plans_open_tasks_from_the_planner(
    services: tuple[PlannerEngineClient, SchedulerEngineClient],
) -> None:
    planner, scheduler = services
    draft = await planner.create_plan(PlanCreate(user_id=USER, intent="Prepare the quarterly review"))
    accepted = await planner.accept_plan(draft.id, PlanAccept(user_id=USER, schedule=False))
    proposal = await scheduler.create_run(RunCreate(user_id=USER, plan_id=accepted.id, dry_run=True))
    async with asyncio.timeout(20):
        while True:
            run = await scheduler.get_run(USER, proposal.run_id)
            if run.status not in ("pending", "running"):
                break
            await asyncio.sleep(0.1)
    assert run.status == "succeeded"
    assert {block.task_id for block in run.blocks} == {task.id for task in accepted.tasks}
    assert (await planner.get_plan(USER, accepted.id)).scheduling.outcome is None  # a dry run reports nothing


async def test_an_accepted_plan_lands_on_the_users_google_calendar(
    postgres_settings: PostgresSettings, valkey_settings: ValkeySettings
) -> None:
    with FakeGoogleCalendar() as google:
        token = google.add_user(USER)
        connected = GoogleSettings(
            client_id=google.client_id, client_secret=google.client_secret, refresh_token=token, user_id=USER,
            token_uri=google.token_url, api_endpoint=google.url,
        )  # fmt: skip
        async with _services(postgres_settings, valkey_settings, google=connected) as (planner, scheduler):
            draft = await planner.create_plan(
                PlanCreate(user_id=USER, intent="Launch the newsletter: write the welcome email, build the signup page")
            )
            accepted = await planner.accept_plan(draft.id, PlanAccept(user_id=USER, schedule=True))
            plan = await until_scheduled(planner, accepted, seconds=20)
            assert plan.scheduling.outcome is not None
            run = await scheduler.get_run(USER, plan.scheduling.outcome.run_id)
        assert run.calendar_error is None
        ours = {str(e["id"]): e for e in google.events(USER)}
        assert set(ours) == {event_id(block.id) for block in run.blocks}
        assert {str(e["summary"]) for e in ours.values()} == {task.title for task in plan.tasks}
