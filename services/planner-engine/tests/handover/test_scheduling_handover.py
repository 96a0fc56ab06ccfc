"""The hand-over of an accepted plan to the scheduler-engine, which must survive the scheduler being down:
the plan is accepted and marked pending, then POST .../schedule or the background sweep completes it,
and the idempotency key (plan id + revision) keeps a repeat from placing the tasks twice.

The scheduler side is a stand-in serving the intake contract (standin_scheduler.py).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from planner_engine.settings import PlannerSettings
from pma_core.clients import PlannerEngineClient
from pma_core.contracts.plans import PlanAccept, PlanCreate, PlanRead, PlanReplan
from pma_core.embedded.process import free_port

from .standin_scheduler import PlannerFactory, StandInScheduler, serve_scheduler, urls_with_scheduler_at

USER = "handover-user"
INTENT = "Write the grant application for the community garden"


@pytest.fixture
def scheduler_port() -> int:
    return free_port()


@asynccontextmanager
async def planner_with_scheduler_at(
    start_planner: PlannerFactory, port: int, *, sweep_seconds: float
) -> AsyncIterator[PlannerEngineClient]:
    tuning = PlannerSettings(memory_timeout_seconds=1.0, handover_retry_interval_seconds=sweep_seconds)
    async with start_planner(services=urls_with_scheduler_at(port), planner=tuning) as client:
        yield client


async def accepted_plan(client: PlannerEngineClient, *, schedule: bool) -> PlanRead:
    plan = await client.create_plan(PlanCreate(user_id=USER, intent=INTENT))
    assert len(plan.tasks) >= 2
    return await client.accept_plan(plan.id, PlanAccept(user_id=USER, schedule=schedule))


def assert_pending(plan: PlanRead, error: str) -> None:
    assert (plan.status, plan.scheduling.state, plan.scheduling.run_id) == ("accepted", "pending", None)
    assert plan.scheduling.last_error is not None
    assert error in plan.scheduling.last_error
    assert {t.status for t in plan.tasks} == {"todo"}


def assert_scheduled(plan: PlanRead, scheduler: StandInScheduler) -> None:
    key = f"plan:{plan.id}:r{plan.revision}"
    assert (plan.status, plan.scheduling.state) == ("scheduled", "requested")
    assert plan.scheduling.run_id == scheduler.runs[key]
    assert plan.scheduling.last_error is None
    assert plan.scheduling.requested_at is not None
    assert {t.status for t in plan.tasks} == {"scheduled"}


async def test_down_scheduler_leaves_the_plan_pending_and_schedule_completes_it_once(
    start_planner: PlannerFactory, scheduler_port: int
) -> None:
    # No sweep during this test: only the explicit calls hand the plan over.
    async with planner_with_scheduler_at(start_planner, scheduler_port, sweep_seconds=3600) as planner:
        plan = await accepted_plan(planner, schedule=True)
        assert_pending(plan, "scheduler-engine is unreachable at http://127.0.0.1:")
        assert plan.scheduling.attempts == 1
        assert plan.based_on is not None  # accepting saved the SOP even though scheduling failed
        assert await planner.get_plan(USER, plan.id) == plan

        still_down = await planner.schedule_plan(USER, plan.id)
        assert_pending(still_down, "scheduler-engine")
        assert still_down.scheduling.attempts == 2

        async with serve_scheduler(scheduler_port) as scheduler:
            scheduled = await planner.schedule_plan(USER, plan.id)
            assert_scheduled(scheduled, scheduler)
            assert scheduled.scheduling.attempts == 3
            assert await planner.get_plan(USER, plan.id) == scheduled

            [received] = scheduler.received
            key = f"plan:{plan.id}:r1"
            assert received.idempotency_key == key
            request = received.body
            assert (request.idempotency_key, request.user_id, request.plan_id, request.plan_revision) == (
                key, USER, plan.id, 1,
            )  # fmt: skip
            assert [t.id for t in request.tasks] == [t.id for t in plan.tasks]
            assert [t.depends_on for t in request.tasks] == [t.depends_on for t in plan.tasks]
            assert [t.estimate_minutes for t in request.tasks] == [t.estimate_minutes for t in plan.tasks]

            # Doing it again is harmless: the same key, so the scheduler answers with the same run.
            again = await planner.schedule_plan(USER, plan.id)
            assert again.scheduling.run_id == scheduled.scheduling.run_id
            assert [r.idempotency_key for r in scheduler.received] == [key, key]
            assert list(scheduler.runs) == [key]
            assert (again.status, again.scheduling.state) == ("scheduled", "requested")


async def test_the_background_sweep_completes_a_pending_hand_over(
    start_planner: PlannerFactory, scheduler_port: int
) -> None:
    async with planner_with_scheduler_at(start_planner, scheduler_port, sweep_seconds=0.2) as planner:
        plan = await accepted_plan(planner, schedule=True)
        assert_pending(plan, "scheduler-engine")

        async with serve_scheduler(scheduler_port) as scheduler:
            deadline = time.monotonic() + 10
            current = await planner.get_plan(USER, plan.id)
            while current.scheduling.state != "requested":
                assert time.monotonic() < deadline, f"the sweep did not hand the plan over: {current.scheduling}"
                await asyncio.sleep(0.05)
                current = await planner.get_plan(USER, plan.id)

            assert_scheduled(current, scheduler)
            assert current.scheduling.attempts >= 2
            assert list(scheduler.runs) == [f"plan:{plan.id}:r1"]
            assert {r.idempotency_key for r in scheduler.received} == {f"plan:{plan.id}:r1"}


async def test_a_scheduler_answering_503_leaves_the_plan_pending_until_it_takes_it(
    start_planner: PlannerFactory, scheduler_port: int
) -> None:
    # The planner's client tries 3 times (2 retries): all three get the 503.
    async with (
        serve_scheduler(scheduler_port, unavailable_for=3) as scheduler,
        planner_with_scheduler_at(start_planner, scheduler_port, sweep_seconds=3600) as planner,
    ):
        plan = await accepted_plan(planner, schedule=True)
        assert_pending(plan, "scheduler-engine failed with 503: the scheduler is starting")
        key = f"plan:{plan.id}:r1"
        assert [(r.idempotency_key, r.status) for r in scheduler.received] == [(key, 503)] * 3
        assert scheduler.runs == {}

        scheduled = await planner.schedule_plan(USER, plan.id)
        assert_scheduled(scheduled, scheduler)
        assert list(scheduler.runs) == [key]


async def test_accepting_without_schedule_does_not_call_the_scheduler(
    start_planner: PlannerFactory, scheduler_port: int
) -> None:
    async with (
        serve_scheduler(scheduler_port) as scheduler,
        planner_with_scheduler_at(start_planner, scheduler_port, sweep_seconds=0.2) as planner,
    ):
        plan = await accepted_plan(planner, schedule=False)
        assert (plan.status, plan.scheduling.state, plan.scheduling.attempts) == ("accepted", "not_requested", 0)
        assert {t.status for t in plan.tasks} == {"todo"}
        assert scheduler.calls == 0

        scheduled = await planner.schedule_plan(USER, plan.id)
        assert_scheduled(scheduled, scheduler)
        assert scheduler.calls == 1


async def test_accepting_with_schedule_while_the_scheduler_is_up_schedules_at_once(
    start_planner: PlannerFactory, scheduler_port: int
) -> None:
    async with (
        serve_scheduler(scheduler_port) as scheduler,
        planner_with_scheduler_at(start_planner, scheduler_port, sweep_seconds=3600) as planner,
    ):
        plan = await accepted_plan(planner, schedule=True)
        assert_scheduled(plan, scheduler)
        assert plan.scheduling.attempts == 1
        assert [r.idempotency_key for r in scheduler.received] == [f"plan:{plan.id}:r1"]


async def test_a_replanned_scheduled_plan_is_handed_over_again_under_a_new_key(
    start_planner: PlannerFactory, scheduler_port: int
) -> None:
    async with (
        serve_scheduler(scheduler_port) as scheduler,
        planner_with_scheduler_at(start_planner, scheduler_port, sweep_seconds=3600) as planner,
    ):
        plan = await accepted_plan(planner, schedule=True)
        first_run = plan.scheduling.run_id
        replanned = await planner.replan(plan.id, PlanReplan(user_id=USER, feedback="add Proofread it (20 min)"))
        assert (replanned.status, replanned.revision) == ("scheduled", 2)
        new = [t for t in replanned.tasks if t.title == "Proofread it"]
        assert [t.status for t in new] == ["todo"]

        rescheduled = await planner.schedule_plan(USER, plan.id)

        assert list(scheduler.runs) == [f"plan:{plan.id}:r1", f"plan:{plan.id}:r2"]
        assert rescheduled.scheduling.run_id == scheduler.runs[f"plan:{plan.id}:r2"] != first_run
        assert scheduler.received[-1].body.plan_revision == 2
        assert [t.id for t in scheduler.received[-1].body.tasks] == [t.id for t in replanned.tasks]
        assert {t.status for t in rescheduled.tasks} == {"scheduled"}
