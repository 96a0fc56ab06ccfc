"""The `plan.created` hand-over to the memory-gateway must never block planning: with the gateway down,
the plan is made anyway, says what degraded, and the event stays outstanding for the sweep to retry.

(The event reaching a real memory-gateway is covered by the cross-service tests in the repository's
tests/, where both services run.)
"""

from __future__ import annotations

import asyncpg

from pma_core.clients import PlannerEngineClient
from pma_core.contracts.plans import PlanAccept, PlanCreate

USER = "memory-down-user"


async def event_recorded_at(postgres_url: str, plan_id: object) -> object:
    conn = await asyncpg.connect(postgres_url)
    try:
        return await conn.fetchval("SELECT event_recorded_at FROM plans WHERE id = $1", plan_id)
    finally:
        await conn.close()


async def test_with_memory_down_the_plan_is_made_with_a_warning_and_the_event_stays_pending(
    planner: PlannerEngineClient, postgres_url: str
) -> None:
    plan = await planner.create_plan(PlanCreate(user_id=USER, intent="Plan the garden party"))

    assert plan.status == "draft"
    assert len(plan.tasks) >= 2
    assert plan.recalled == []
    [warning] = plan.warnings
    assert warning.startswith("memory-gateway unavailable (memory-gateway is unreachable at http://127.0.0.1:")
    assert warning.endswith("): planned without recalled context")
    assert (await planner.get_plan(USER, plan.id)).warnings == [warning]
    # Not recorded, so the hand-over sweep keeps trying it.
    assert await event_recorded_at(postgres_url, plan.id) is None

    # The rest of the plan's life does not wait for memory either.
    accepted = await planner.accept_plan(plan.id, PlanAccept(user_id=USER))
    assert accepted.status == "accepted"
