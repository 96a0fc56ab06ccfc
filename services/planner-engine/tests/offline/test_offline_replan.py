"""Offline replanning over HTTP: the directive grammar, ids kept by key, revisions, and what may not be replanned."""

from __future__ import annotations

from typing import Any

import pytest

from pma_core.clients import PlannerEngineClient, RemoteServiceError
from pma_core.contracts.plans import PlanCreate, PlanRead, PlanReplan, PlanStatusUpdate

USER = "alice"


async def launch_plan(planner: PlannerEngineClient) -> PlanRead:
    return await planner.create_plan(PlanCreate(user_id=USER, intent="Launch the Q1 newsletter"))


async def replan(planner: PlannerEngineClient, plan: PlanRead, feedback: str) -> PlanRead:
    return await planner.replan(plan.id, PlanReplan(user_id=USER, feedback=feedback))


async def rejected(planner: PlannerEngineClient, plan: PlanRead, feedback: str) -> RemoteServiceError:
    with pytest.raises(RemoteServiceError) as caught:
        await replan(planner, plan, feedback)
    return caught.value


def by_key(plan: PlanRead) -> dict[str | None, Any]:
    return {task.key: task for task in plan.tasks}


async def test_directives_edit_the_plan_and_surviving_tasks_keep_their_ids(planner: PlannerEngineClient) -> None:
    before = await launch_plan(planner)
    old = by_key(before)

    after = await replan(
        planner,
        before,
        "add Send thank-you notes (20 min); remove t3\nt2: 45 min; Follow up takes 2 h.\nmake t4 urgent",
    )

    assert after.id == before.id
    assert after.revision == 2
    assert after.status == "draft"
    new = by_key(after)
    assert list(new) == ["t1", "t2", "t4", "t5", "t6"]
    # Survivors keep their ids; the removed task is gone.
    for key in ("t1", "t2", "t4", "t5"):
        assert new[key].id == old[key].id
    assert old["t3"].id not in {task.id for task in after.tasks}
    # t2: 45 min is no longer deep work; "Follow up" (a unique title part) takes 2 h and is.
    assert (new["t2"].estimate_minutes, new["t2"].splittable, new["t2"].min_chunk_minutes) == (45, False, None)
    assert (new["t5"].estimate_minutes, new["t5"].splittable, new["t5"].min_chunk_minutes) == (120, True, 30)
    assert [task.priority for task in after.tasks] == ["normal", "normal", "urgent", "normal", "normal"]
    # t4 depended on the removed t3 and inherits its dependency (t2).
    assert new["t4"].depends_on == [old["t2"].id]
    # The added task comes last, after what was last, with the minutes asked for.
    added = new["t6"]
    assert (added.title, added.estimate_minutes, added.depends_on) == ("Send thank-you notes", 20, [old["t5"].id])
    assert [task.position for task in after.tasks] == [0, 1, 2, 3, 4]
    assert await planner.get_plan(USER, before.id) == after
    # Untouched fields stay.
    assert (new["t1"].title, new["t1"].estimate_minutes) == (old["t1"].title, old["t1"].estimate_minutes)


async def test_each_replan_is_a_new_revision(planner: PlannerEngineClient) -> None:
    plan = await launch_plan(planner)
    second = await replan(planner, plan, "make t3 urgent")
    third = await replan(planner, plan, "t3 takes 1.5 h; add Celebrate")

    assert (second.revision, third.revision) == (2, 3)
    assert by_key(second)["t3"].priority == "urgent"
    t3 = by_key(third)["t3"]
    assert (t3.priority, t3.estimate_minutes, t3.splittable) == ("urgent", 90, False)
    t6 = by_key(third)["t6"]
    assert (t6.title, t6.estimate_minutes, t6.depends_on) == ("Celebrate", 60, [by_key(plan)["t5"].id])


async def test_removing_a_middle_task_rewires_its_dependants(planner: PlannerEngineClient) -> None:
    plan = await launch_plan(planner)
    old = by_key(plan)

    after = await replan(planner, plan, "drop Prepare the content")

    assert [task.key for task in after.tasks] == ["t1", "t3", "t4", "t5"]
    assert by_key(after)["t3"].depends_on == [old["t1"].id]
    assert by_key(after)["t4"].depends_on == [old["t3"].id]


async def test_an_unknown_directive_is_a_422_naming_it_and_the_grammar(planner: PlannerEngineClient) -> None:
    plan = await launch_plan(planner)

    error = await rejected(planner, plan, "t1: 10 min; please make it snappier")

    assert (error.status_code, error.code) == (422, "validation_error")
    (detail,) = error.details
    assert detail["field"] == "feedback"
    assert detail["directive"] == "please make it snappier"
    assert "please make it snappier" in detail["message"]
    assert "add <title>" in detail["grammar"]
    assert "make <task> urgent|high|normal|low" in detail["grammar"]
    # Nothing was applied, not even the valid first directive.
    unchanged = await planner.get_plan(USER, plan.id)
    assert unchanged.revision == 1
    assert by_key(unchanged)["t1"].estimate_minutes == 30


async def test_a_task_reference_must_name_exactly_one_task(planner: PlannerEngineClient) -> None:
    plan = await launch_plan(planner)

    ambiguous = await rejected(planner, plan, "the Q1 newsletter: 30 min")
    assert ambiguous.status_code == 422
    assert ambiguous.details[0]["message"] == "'the Q1 newsletter' matches 5 tasks; use a key"
    assert ambiguous.details[0]["directive"] == "the Q1 newsletter: 30 min"

    missing = await rejected(planner, plan, "remove t9")
    assert missing.status_code == 422
    assert missing.details[0]["message"] == "'t9' matches no task"

    everything = await rejected(planner, plan, "remove t1; remove t2; remove t3; remove t4; remove t5")
    assert everything.status_code == 422
    assert "removes every task" in everything.details[0]["message"]
    assert (await planner.get_plan(USER, plan.id)).revision == 1


async def test_a_done_or_cancelled_plan_cannot_be_replanned(planner: PlannerEngineClient) -> None:
    cancelled = await launch_plan(planner)
    await planner.set_plan_status(cancelled.id, PlanStatusUpdate(user_id=USER, status="cancelled"))
    done = await launch_plan(planner)
    for status in ("accepted", "in_progress", "done"):
        await planner.set_plan_status(done.id, PlanStatusUpdate(user_id=USER, status=status))

    for plan, status in ((cancelled, "cancelled"), (done, "done")):
        error = await rejected(planner, plan, "make t1 urgent")
        assert (error.status_code, error.code) == (409, "illegal_transition")
        assert error.details == {"status": status}
        assert (await planner.get_plan(USER, plan.id)).revision == 1


async def test_an_accepted_plan_can_still_be_replanned(planner: PlannerEngineClient) -> None:
    plan = await launch_plan(planner)
    await planner.set_plan_status(plan.id, PlanStatusUpdate(user_id=USER, status="accepted"))

    after = await replan(planner, plan, "make t1 high")

    assert (after.status, after.revision, after.tasks[0].priority) == ("accepted", 2, "high")


async def test_replanning_another_users_plan_is_a_404(planner: PlannerEngineClient) -> None:
    plan = await launch_plan(planner)

    with pytest.raises(RemoteServiceError) as caught:
        await planner.replan(plan.id, PlanReplan(user_id="bob", feedback="make t1 urgent"))

    assert (caught.value.status_code, caught.value.code) == (404, "not_found")
    assert (await planner.get_plan(USER, plan.id)).revision == 1
