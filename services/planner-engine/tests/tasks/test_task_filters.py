"""GET /v1/tasks and GET /v1/plans filters the observer reads by: ids, completion, deadline and update
windows [after, before), plans by creation; each combinable, each scoped to the user, bad windows a 422."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import httpx

from pma_core.clients import PlannerEngineClient
from pma_core.contracts.plans import PlanCreate
from pma_core.contracts.tasks import TaskImport, TaskRead

USER = "alice"
OTHER = "bob"
BASE = datetime(2027, 1, 4, 17, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)


async def import_rows(planner: PlannerEngineClient, *rows: dict[str, Any], user: str = USER) -> list[TaskRead]:
    tasks = [{"title": f"Row {r['external_ref']}", "estimate_minutes": 30} | r for r in rows]
    batch = TaskImport.model_validate({"user_id": user, "source": "coda", "tasks": tasks})
    return [result.task for result in (await planner.import_tasks(batch)).results]


async def ids(planner: PlannerEngineClient, *, user: str = USER, **filters: Any) -> set[UUID]:
    return {task.id for task in (await planner.list_tasks(user, **filters)).tasks}


async def get(planner: PlannerEngineClient, path: str, params: Any) -> httpx.Response:
    async with httpx.AsyncClient(base_url=planner.base_url, timeout=15.0) as http:
        return await http.get(path, params=params)


def assert_window_error(response: httpx.Response, field: str, words: str) -> None:
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert words in error["message"]
    assert [detail["field"] for detail in error["details"]] == [f"query.{field}"]


async def test_ids_pick_the_users_tasks_among_them(planner: PlannerEngineClient) -> None:
    first, second, third = await import_rows(planner, *({"external_ref": ref} for ref in "abc"))
    (theirs,) = await import_rows(planner, {"external_ref": "a"}, user=OTHER)

    assert await ids(planner, ids=[first.id, third.id, theirs.id, uuid4()]) == {first.id, third.id}
    assert await ids(planner, user=OTHER, ids=[first.id, theirs.id]) == {theirs.id}
    assert await ids(planner, ids=[first.id, second.id], status="todo", limit=1) in ({first.id}, {second.id})

    # The typed client asks in chunks: any number of ids, duplicates and strangers included.
    many = [uuid4() for _ in range(600)] + [second.id, third.id, third.id, theirs.id]
    found = await planner.tasks_by_ids(USER, many)
    assert sorted(task.id for task in found) == sorted([second.id, third.id])

    too_many = await get(planner, "/v1/tasks", {"user_id": USER, "ids": [str(uuid4()) for _ in range(501)]})
    assert too_many.status_code == 422
    assert too_many.json()["error"]["details"][0]["field"] == "query.ids"
    not_ids = await get(planner, "/v1/tasks", {"user_id": USER, "ids": "t1"})
    assert not_ids.status_code == 422
    assert (await get(planner, "/v1/tasks", {"user_id": USER, "limit": 1000})).status_code == 200
    assert (await get(planner, "/v1/tasks", {"user_id": USER, "limit": 1001})).status_code == 422


async def test_completion_window_is_after_inclusive_before_exclusive(planner: PlannerEngineClient) -> None:
    (early,) = await import_rows(planner, {"external_ref": "early", "status": "done"})
    (late,) = await import_rows(planner, {"external_ref": "late", "status": "done"})
    (_open,) = await import_rows(planner, {"external_ref": "open", "status": "in_progress"})
    await import_rows(planner, {"external_ref": "theirs", "status": "done"}, user=OTHER)
    assert early.completed_at is not None
    assert late.completed_at is not None
    assert early.completed_at < late.completed_at

    assert await ids(planner, completed_after=early.completed_at, completed_before=late.completed_at) == {early.id}
    assert await ids(planner, completed_after=late.completed_at, completed_before=late.completed_at + MICROSECOND) == {
        late.id
    }
    assert await ids(planner, completed_after=early.completed_at) == {early.id, late.id}
    assert await ids(planner, completed_before=early.completed_at) == set()
    assert await ids(planner, completed_after=early.completed_at, status="done", ids=[late.id]) == {late.id}


async def test_deadline_and_update_windows_combine_with_the_other_filters(planner: PlannerEngineClient) -> None:
    monday, tuesday, wednesday = await import_rows(
        planner,
        {"external_ref": "mon", "deadline": BASE.isoformat()},
        {"external_ref": "tue", "deadline": (BASE + timedelta(days=1)).isoformat(), "status": "done"},
        {"external_ref": "wed", "deadline": (BASE + timedelta(days=2)).isoformat()},
    )
    await import_rows(planner, {"external_ref": "none"})
    (theirs,) = await import_rows(planner, {"external_ref": "mon", "deadline": BASE.isoformat()}, user=OTHER)

    window: dict[str, Any] = {"deadline_after": BASE, "deadline_before": BASE + timedelta(days=2)}
    assert await ids(planner, **window) == {monday.id, tuesday.id}  # the one due at `before` is out
    assert await ids(planner, **window, status="done") == {tuesday.id}
    assert await ids(planner, deadline_after=BASE + timedelta(days=1)) == {tuesday.id, wednesday.id}
    assert await ids(planner, user=OTHER, **window) == {theirs.id}

    (edited,) = await import_rows(
        planner, {"external_ref": "wed", "deadline": (BASE + timedelta(days=2)).isoformat(), "title": "Edited"}
    )
    assert edited.updated_at > monday.updated_at
    assert await ids(planner, updated_after=edited.updated_at) == {wednesday.id}
    assert await ids(planner, updated_after=edited.updated_at, deadline_before=BASE + timedelta(days=2)) == set()
    assert await ids(planner, updated_after=monday.updated_at, **window) == {monday.id, tuesday.id}


async def test_an_empty_or_reversed_window_is_a_422_that_names_it(planner: PlannerEngineClient) -> None:
    moment = BASE.isoformat()
    later = (BASE + timedelta(hours=1)).isoformat()
    for after, before in (("completed_after", "completed_before"), ("deadline_after", "deadline_before")):
        for start, end in ((moment, moment), (later, moment)):
            response = await get(planner, "/v1/tasks", {"user_id": USER, after: start, before: end})
            assert_window_error(response, after, f"{after} must be before {before}")
    response = await get(planner, "/v1/plans", {"user_id": USER, "created_after": later, "created_before": moment})
    assert_window_error(response, "created_after", "created_after must be before created_before")
    naive = await get(planner, "/v1/tasks", {"user_id": USER, "updated_after": "2027-01-04T17:00:00"})
    assert naive.status_code == 422
    assert naive.json()["error"]["details"][0]["field"] == "query.updated_after"


async def test_plans_by_creation_window(planner: PlannerEngineClient) -> None:
    first = await planner.create_plan(PlanCreate(user_id=USER, intent="Launch the Q1 newsletter"))
    second = await planner.create_plan(PlanCreate(user_id=USER, intent="Write the annual report"))
    await planner.create_plan(PlanCreate(user_id=OTHER, intent="Launch the Q1 newsletter"))

    async def plan_ids(**window: Any) -> list[UUID]:
        return [plan.id for plan in (await planner.list_plans(USER, **window)).plans]

    assert await plan_ids(created_after=first.created_at, created_before=second.created_at) == [first.id]
    assert await plan_ids(created_after=second.created_at) == [second.id]
    assert await plan_ids(created_after=first.created_at) == [second.id, first.id]  # newest first
    assert await plan_ids(created_before=first.created_at) == []
    assert await plan_ids(created_after=first.created_at, status="draft") == [second.id, first.id]
    assert await plan_ids(created_after=first.created_at, status="done") == []
