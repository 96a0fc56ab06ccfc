"""Replan never hands a removed task's id to a new task, and an added task follows the plan's deadlines."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pma_core.clients import PlannerEngineClient
from pma_core.contracts.plans import PlanCreate, PlanRead, PlanReplan

USER = "replan-user"


async def _plan(planner: PlannerEngineClient, *, due: bool = False) -> PlanRead:
    due_at = datetime.now(UTC) + timedelta(days=10) if due else None
    return await planner.create_plan(
        PlanCreate(user_id=USER, intent="Write the grant application for the community garden", due_at=due_at)
    )


async def _replan(planner: PlannerEngineClient, plan: PlanRead, feedback: str) -> PlanRead:
    return await planner.replan(plan.id, PlanReplan(user_id=USER, feedback=feedback))


async def test_removing_then_adding_never_reuses_an_id(planner: PlannerEngineClient) -> None:
    plan = await _plan(planner)
    assert len(plan.tasks) >= 3
    last, middle = plan.tasks[-1], plan.tasks[1]
    for removed in (last, middle):
        revised = await _replan(planner, plan, f"remove {removed.key}; add Email the customer")
        kept_ids = {t.id for t in plan.tasks} - {removed.id}
        new = [t for t in revised.tasks if t.id not in kept_ids]
        (added,) = new
        assert added.title == "Email the customer"
        assert added.id != removed.id
        assert added.key != removed.key
        plan = revised


async def test_removing_several_at_once_and_adding_several(planner: PlannerEngineClient) -> None:
    plan = await _plan(planner)
    first, second = plan.tasks[0], plan.tasks[1]
    revised = await _replan(planner, plan, f"remove {first.key}; remove {second.key}; add Call the funder; add Send it")
    old_ids = {t.id for t in plan.tasks}
    added = [t for t in revised.tasks if t.id not in old_ids]
    assert [t.title for t in added] == ["Call the funder", "Send it"]
    assert {t.key for t in added}.isdisjoint({t.key for t in plan.tasks})


async def test_an_added_task_is_due_with_the_plans_work(planner: PlannerEngineClient) -> None:
    plan = await _plan(planner, due=True)
    latest = max(t.deadline for t in plan.tasks if t.deadline)
    revised = await _replan(planner, plan, "add Print the final copy")
    (added,) = [t for t in revised.tasks if t.title == "Print the final copy"]
    assert added.deadline == latest
