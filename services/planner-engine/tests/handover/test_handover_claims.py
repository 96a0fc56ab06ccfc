"""The hand-overs a sweep retries are claimed: two replicas' sweeps at once take each outstanding hand-over
once between them, a hand-over a request is doing is no sweep's, and a dead replica's claim expires.

Each replica is a `PlanRepository` over its own pool, as two planner processes would be.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from uuid import UUID

import asyncpg
import pytest
from pydantic import SecretStr

from planner_engine.adapters.plans import PlanRepository
from planner_engine.domain.drafts import PlanDraft
from planner_engine.domain.lifecycle import ensure_transition
from planner_engine.domain.models import NewPlan
from pma_core.contracts.library import Sop, SopStep
from pma_core.contracts.plans import Usage
from pma_core.contracts.tasks import TaskSpec
from pma_core.postgres import open_pool
from pma_core.settings import PostgresSettings

USER = "claims-user"
PLANS = 12
DRAFT = PlanDraft(
    sop=Sop(title="Ship it", steps=[SopStep(title="Ship")]),
    tasks=[TaskSpec(key="t1", title="Ship it", estimate_minutes=30)],
)


@pytest.fixture
async def replicas(postgres_url: str) -> AsyncIterator[tuple[PlanRepository, PlanRepository]]:
    settings = PostgresSettings(url=SecretStr(postgres_url), pool_max_size=3)
    pools: list[asyncpg.Pool] = [await open_pool(settings), await open_pool(settings)]
    yield PlanRepository(pools[0]), PlanRepository(pools[1])
    for pool in pools:
        await pool.close()


async def _new_plan(plans: PlanRepository, n: int) -> UUID:
    new = NewPlan(
        user_id=USER, intent=f"Ship release {n}", context="", constraints={}, due_at=None, planner="offline",
        model=None, template_id=None, usage=Usage(), trace_id=None, sop_id=None, recalled=(), warnings=(),
        idempotency_key=None,
    )  # fmt: skip
    plan, _ = await plans.insert(new, DRAFT)
    return plan.id


async def _accepted_for_scheduling(plans: PlanRepository, plan_id: UUID) -> None:
    """Accept with scheduling, as the accept request does before it hands the plan over."""
    check = lambda status: ensure_transition(status, wanted="accepted")  # noqa: E731
    await plans.move(USER, plan_id, check=check, status="accepted", scheduling_state="pending")


async def test_two_sweeps_at_once_take_each_pending_scheduling_once(
    replicas: tuple[PlanRepository, PlanRepository],
) -> None:
    first, second = replicas
    ids = {await _new_plan(first, n) for n in range(PLANS)}
    for plan_id in ids:
        await _accepted_for_scheduling(first, plan_id)
        await first.scheduling_failed(USER, plan_id, "scheduler-engine is unreachable")  # left to the sweep
    for _ in range(5):  # round after round: never both, never neither
        taken = await asyncio.gather(
            first.claim_pending_scheduling(PLANS, lease_seconds=60),
            second.claim_pending_scheduling(PLANS, lease_seconds=60),
        )
        mine, theirs = ({plan_id for _, plan_id in batch} for batch in taken)
        assert mine.isdisjoint(theirs)
        assert mine | theirs == ids
        for plan_id in ids:  # each hand-over failed again: the next round takes them anew
            await first.scheduling_failed(USER, plan_id, "scheduler-engine is unreachable")


async def test_a_hand_over_a_request_is_doing_is_no_sweeps_until_it_ends(
    replicas: tuple[PlanRepository, PlanRepository],
) -> None:
    requesting, sweeping = replicas
    plan_id = await _new_plan(requesting, 0)
    before = (await requesting.get(USER, plan_id)).updated_at
    await _accepted_for_scheduling(requesting, plan_id)  # the request hands it over next
    assert await sweeping.claim_pending_scheduling(PLANS, lease_seconds=60) == []

    await requesting.scheduling_failed(USER, plan_id, "scheduler-engine is unreachable")
    assert await sweeping.claim_pending_scheduling(PLANS, lease_seconds=60) == [(USER, plan_id)]
    assert await requesting.claim_pending_scheduling(PLANS, lease_seconds=60) == []  # the sweep holds it now
    assert (await requesting.get(USER, plan_id)).updated_at > before  # accepted: a change
    held = (await requesting.get(USER, plan_id)).updated_at
    await requesting.release_event(USER, plan_id)
    assert (await requesting.get(USER, plan_id)).updated_at == held  # a lease is bookkeeping, not a change


async def test_the_creator_holds_the_plan_event_and_a_failed_or_dead_holder_lets_it_go(
    replicas: tuple[PlanRepository, PlanRepository],
) -> None:
    creating, sweeping = replicas
    plan_id = await _new_plan(creating, 0)
    assert await sweeping.claim_pending_events(PLANS, lease_seconds=60) == []  # the creator records it

    await creating.release_event(USER, plan_id)  # the gateway was down: the next sweep may take it
    assert await creating.claim_pending_events(PLANS, lease_seconds=0.05) == [(USER, plan_id)]  # ... then dies
    assert await sweeping.claim_pending_events(PLANS, lease_seconds=60) == []

    await asyncio.sleep(0.2)  # the dead replica's lease runs out
    assert await sweeping.claim_pending_events(PLANS, lease_seconds=60) == [(USER, plan_id)]
    await sweeping.event_recorded(USER, plan_id)
    await sweeping.release_event(USER, plan_id)  # a late release of a recorded event changes nothing
    assert await creating.claim_pending_events(PLANS, lease_seconds=0) == []  # recorded: never again
