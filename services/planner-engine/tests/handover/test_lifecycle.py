"""The plan lifecycle over HTTP: the legal moves work (and carry their tasks along), every illegal one is a
409 `illegal_transition` that names what is allowed, and nothing changes when a move is refused."""

from __future__ import annotations

import asyncio
from typing import Any
from uuid import UUID

import httpx

from pma_core.clients import PlannerEngineClient
from pma_core.contracts.plans import PLAN_TRANSITIONS, PlanAccept, PlanCreate, PlanRead, PlanStatus, PlanStatusUpdate

USER = "lifecycle-user"
STATUSES: list[PlanStatus] = ["draft", "accepted", "scheduled", "in_progress", "done", "cancelled"]


async def new_plan(client: PlannerEngineClient) -> PlanRead:
    return await client.create_plan(PlanCreate(user_id=USER, intent="Organise the team offsite"))


async def post(client: PlannerEngineClient, path: str, body: dict[str, Any]) -> httpx.Response:
    async with httpx.AsyncClient(base_url=client.base_url, timeout=15.0) as http:
        return await http.post(path, json=body)


async def move(client: PlannerEngineClient, plan_id: UUID, status: str) -> httpx.Response:
    return await post(client, f"/v1/plans/{plan_id}/status", {"user_id": USER, "status": status})


def assert_illegal(response: httpx.Response, message: str) -> dict[str, Any]:
    assert response.status_code == 409, response.text
    error: dict[str, Any] = response.json()["error"]
    assert error["code"] == "illegal_transition"
    assert message in error["message"]
    return error


async def test_draft_accepted_in_progress_done_and_done_marks_the_tasks_done(planner: PlannerEngineClient) -> None:
    plan = await new_plan(planner)
    assert (plan.status, {t.status for t in plan.tasks}) == ("draft", {"todo"})

    accepted = await planner.set_plan_status(plan.id, PlanStatusUpdate(user_id=USER, status="accepted"))
    assert (accepted.status, accepted.scheduling.state) == ("accepted", "not_requested")
    assert accepted.based_on is not None  # accepting through the status call saves the SOP too
    started = await planner.set_plan_status(plan.id, PlanStatusUpdate(user_id=USER, status="in_progress"))
    assert (started.status, {t.status for t in started.tasks}) == ("in_progress", {"todo"})
    done = await planner.set_plan_status(plan.id, PlanStatusUpdate(user_id=USER, status="done"))

    assert done.status == "done"
    assert [t.status for t in done.tasks] == ["done"] * len(plan.tasks)
    assert [t.id for t in done.tasks] == [t.id for t in plan.tasks]
    assert await planner.get_plan(USER, plan.id) == done
    assert {t.status for t in (await planner.list_tasks(USER, plan_id=plan.id)).tasks} == {"done"}


async def test_accepting_twice_is_illegal(planner: PlannerEngineClient) -> None:
    plan = await new_plan(planner)
    await planner.accept_plan(plan.id, PlanAccept(user_id=USER))

    response = await post(planner, f"/v1/plans/{plan.id}/accept", {"user_id": USER})

    error = assert_illegal(response, "a plan cannot go from accepted to accepted")
    assert error["details"] == {
        "status": "accepted", "requested": "accepted", "allowed": ["cancelled", "in_progress", "scheduled"],
    }  # fmt: skip
    # The library got one SOP from the first accept, not a second one.
    assert len((await planner.list_sops(USER)).sops) == 1


async def test_of_two_concurrent_accepts_one_wins(planner: PlannerEngineClient) -> None:
    plan = await new_plan(planner)
    path = f"/v1/plans/{plan.id}/accept"

    responses = await asyncio.gather(*(post(planner, path, {"user_id": USER}) for _ in range(2)))

    assert sorted(r.status_code for r in responses) == [200, 409]
    assert_illegal(next(r for r in responses if r.status_code == 409), "from accepted to accepted")
    assert len((await planner.list_sops(USER)).sops) == 1


async def test_a_draft_cannot_be_done(planner: PlannerEngineClient) -> None:
    plan = await new_plan(planner)

    error = assert_illegal(await move(planner, plan.id, "done"), "a plan cannot go from draft to done")

    assert "from draft it can go to: accepted, cancelled" in error["message"]
    assert error["details"]["allowed"] == ["accepted", "cancelled"]
    assert await planner.get_plan(USER, plan.id) == plan


async def test_a_cancelled_plan_cannot_move_at_all(planner: PlannerEngineClient) -> None:
    plan = await new_plan(planner)
    cancelled = await planner.set_plan_status(plan.id, PlanStatusUpdate(user_id=USER, status="cancelled"))
    assert {t.status for t in cancelled.tasks} == {"cancelled"}

    for wanted in STATUSES:
        error = assert_illegal(await move(planner, plan.id, wanted), f"a plan cannot go from cancelled to {wanted}")
        assert "from cancelled it can go to: none: it is final" in error["message"]
        assert error["details"]["allowed"] == []
    assert await planner.get_plan(USER, plan.id) == cancelled


async def test_a_cancelled_plan_cannot_be_accepted_scheduled_or_replanned(planner: PlannerEngineClient) -> None:
    plan = await new_plan(planner)
    await planner.set_plan_status(plan.id, PlanStatusUpdate(user_id=USER, status="cancelled"))
    body = {"user_id": USER}

    assert_illegal(await post(planner, f"/v1/plans/{plan.id}/accept", body), "from cancelled to accepted")
    assert_illegal(
        await post(planner, f"/v1/plans/{plan.id}/schedule", body), "a plan in status cancelled cannot be scheduled"
    )
    assert_illegal(
        await post(planner, f"/v1/plans/{plan.id}/replan", {**body, "feedback": "add Buy snacks"}),
        "a cancelled plan cannot be replanned",
    )
    assert (await planner.list_sops(USER)).sops == []


async def test_a_draft_cannot_be_scheduled(planner: PlannerEngineClient) -> None:
    plan = await new_plan(planner)

    error = assert_illegal(
        await post(planner, f"/v1/plans/{plan.id}/schedule", {"user_id": USER}),
        "a plan in status draft cannot be scheduled: accept it first",
    )

    assert error["details"] == {"status": "draft"}
    current = await planner.get_plan(USER, plan.id)
    assert (current.status, current.scheduling.state, current.scheduling.attempts) == ("draft", "not_requested", 0)


async def test_a_done_plan_is_final(planner: PlannerEngineClient) -> None:
    plan = await new_plan(planner)
    moves: list[PlanStatus] = ["accepted", "in_progress", "done"]
    for status in moves:
        await planner.set_plan_status(plan.id, PlanStatusUpdate(user_id=USER, status=status))

    assert_illegal(await move(planner, plan.id, "cancelled"), "a plan cannot go from done to cancelled")
    assert_illegal(await move(planner, plan.id, "in_progress"), "from done it can go to: none: it is final")
    assert_illegal(
        await post(planner, f"/v1/plans/{plan.id}/replan", {"user_id": USER, "feedback": "add More"}),
        "a done plan cannot be replanned",
    )


async def test_every_move_outside_the_table_is_refused(planner: PlannerEngineClient) -> None:
    """From a draft and from an accepted plan, each status not in PLAN_TRANSITIONS is a 409."""
    draft = await new_plan(planner)
    accepted = await new_plan(planner)
    await planner.accept_plan(accepted.id, PlanAccept(user_id=USER))
    for plan_id, current in ((draft.id, "draft"), (accepted.id, "accepted")):
        for wanted in STATUSES:
            if wanted in PLAN_TRANSITIONS[current]:
                continue
            assert_illegal(await move(planner, plan_id, wanted), f"a plan cannot go from {current} to {wanted}")
        assert (await planner.get_plan(USER, plan_id)).status == current


async def test_moving_a_plan_of_another_user_is_a_404(planner: PlannerEngineClient) -> None:
    plan = await new_plan(planner)
    response = await post(planner, f"/v1/plans/{plan.id}/status", {"user_id": "someone-else", "status": "cancelled"})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert (await planner.get_plan(USER, plan.id)).status == "draft"
