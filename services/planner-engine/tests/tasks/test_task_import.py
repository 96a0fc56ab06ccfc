"""PUT /v1/tasks/import: upserts by external_ref in one transaction; reads and filters of tasks."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import httpx
import pytest

from pma_core.clients import PlannerEngineClient, RemoteServiceError
from pma_core.contracts.plans import PlanCreate, PlanReplan
from pma_core.contracts.tasks import TaskImport

USER = "alice"


def row(ref: str, **changes: Any) -> dict[str, Any]:
    return {"external_ref": ref, "title": f"Row {ref}", "estimate_minutes": 30} | changes


async def import_rows(planner: PlannerEngineClient, *rows: dict[str, Any], user: str = USER) -> list[tuple[str, Any]]:
    batch = TaskImport.model_validate({"user_id": user, "source": "coda", "tasks": list(rows)})
    return [(result.outcome, result.task) for result in (await planner.import_tasks(batch)).results]


async def test_import_creates_updates_and_leaves_unchanged_by_external_ref(planner: PlannerEngineClient) -> None:
    first = await import_rows(
        planner,
        row("coda:1", tags=["Home"], metadata={"table": "chores"}),
        row("coda:2", priority="high", status="in_progress"),
    )
    assert [outcome for outcome, _ in first] == ["created", "created"]
    task = first[0][1]
    assert (task.key, task.plan_id, task.source, task.external_ref) == (None, None, "coda", "coda:1")
    assert (task.title, task.estimate_minutes, task.tags, task.metadata) == (
        "Row coda:1",
        30,
        ["home"],
        {"table": "chores"},
    )
    assert (first[1][1].priority, first[1][1].status) == ("high", "in_progress")

    # The same rows again: nothing changes, nothing duplicates.
    again = await import_rows(
        planner,
        row("coda:1", tags=["Home"], metadata={"table": "chores"}),
        row("coda:2", priority="high", status="in_progress"),
    )
    assert [outcome for outcome, _ in again] == ["unchanged", "unchanged"]
    assert [t.id for _, t in again] == [t.id for _, t in first]
    assert again[0][1].updated_at == task.updated_at

    # One row edited, one new.
    mixed = await import_rows(planner, row("coda:1", title="Row one, renamed", status="done"), row("coda:3"))
    assert [outcome for outcome, _ in mixed] == ["updated", "created"]
    updated = mixed[0][1]
    assert (updated.id, updated.title, updated.status, updated.tags) == (task.id, "Row one, renamed", "done", [])

    listed = (await planner.list_tasks(USER)).tasks
    assert sorted(t.external_ref or "" for t in listed) == ["coda:1", "coda:2", "coda:3"]
    (by_ref,) = (await planner.list_tasks(USER, external_ref="coda:1")).tasks
    assert by_ref == updated
    assert [t.external_ref for t in (await planner.list_tasks(USER, status="done")).tasks] == ["coda:1"]
    assert (await planner.list_tasks(USER, external_ref="coda:404")).tasks == []


async def test_imported_tasks_attach_to_a_plan_and_survive_its_replans(planner: PlannerEngineClient) -> None:
    plan = await planner.create_plan(PlanCreate(user_id=USER, intent="Launch the Q1 newsletter"))

    ((outcome, task),) = await import_rows(planner, row("coda:7", plan_id=str(plan.id)))

    assert (outcome, task.plan_id, task.key) == ("created", plan.id, None)
    in_plan = (await planner.list_tasks(USER, plan_id=plan.id)).tasks
    assert [t.key for t in in_plan if t.key] == ["t1", "t2", "t3", "t4", "t5"]
    assert [t.id for t in in_plan if t.key is None] == [task.id]
    replanned = await planner.replan(plan.id, PlanReplan(user_id=USER, feedback="remove t5"))
    assert task.id in {t.id for t in replanned.tasks}
    assert [t.key for t in replanned.tasks if t.key] == ["t1", "t2", "t3", "t4"]


async def test_an_unknown_plan_fails_the_whole_import(planner: PlannerEngineClient) -> None:
    missing = uuid4()
    with pytest.raises(RemoteServiceError) as caught:
        await import_rows(planner, row("coda:1"), row("coda:2", plan_id=str(missing)))

    assert (caught.value.status_code, caught.value.code) == (404, "not_found")
    assert caught.value.details == {"plan_ids": [str(missing)]}
    assert (await planner.list_tasks(USER)).tasks == []

    # Another user's plan is unknown too.
    theirs = await planner.create_plan(PlanCreate(user_id="bob", intent="Tidy the garage"))
    with pytest.raises(RemoteServiceError) as caught:
        await import_rows(planner, row("coda:1", plan_id=str(theirs.id)))
    assert caught.value.status_code == 404
    assert (await planner.list_tasks(USER)).tasks == []


async def test_bad_imports_are_422_naming_the_field(planner: PlannerEngineClient) -> None:
    cases: list[tuple[dict[str, Any], str, str]] = [
        (
            {"user_id": USER, "tasks": [row("coda:1"), row("coda:1", title="again")]},
            "body",
            "each external_ref may appear once per import",
        ),
        ({"user_id": USER, "tasks": []}, "body.tasks", "at least 1 item"),
        ({"user_id": USER, "tasks": [row(f"r{i}") for i in range(101)]}, "body.tasks", "at most 100 items"),
        (
            {"user_id": USER, "tasks": [row("coda:1", estimate_minutes=0)]},
            "body.tasks.0.estimate_minutes",
            "greater than 0",
        ),
        ({"user_id": USER, "tasks": [row("coda:1", status="someday")]}, "body.tasks.0.status", "'todo'"),
        (
            {"user_id": USER, "tasks": [row("coda:1", estimate_minutes=20, splittable=True, min_chunk_minutes=30)]},
            "body.tasks.0",
            "min_chunk_minutes cannot exceed estimate_minutes",
        ),
        ({"user_id": "", "tasks": [row("coda:1")]}, "body.user_id", "at least 1 character"),
    ]
    async with httpx.AsyncClient(base_url=planner.base_url) as http:
        for body, field, message in cases:
            response = await http.put("/v1/tasks/import", json=body)
            assert response.status_code == 422, field
            error = response.json()["error"]
            assert error["code"] == "validation_error"
            assert any(d["field"] == field and message in d["message"] for d in error["details"]), error
    assert (await planner.list_tasks(USER)).tasks == []


async def test_tasks_of_one_user_are_invisible_to_another(planner: PlannerEngineClient) -> None:
    ((_, task),) = await import_rows(planner, row("coda:1"))
    # The same external_ref is another task for another user.
    ((outcome, theirs),) = await import_rows(planner, row("coda:1", title="Bob's"), user="bob")
    assert outcome == "created"
    assert theirs.id != task.id

    assert [t.id for t in (await planner.list_tasks("bob")).tasks] == [theirs.id]
    assert [t.title for t in (await planner.list_tasks(USER)).tasks] == ["Row coda:1"]
    async with httpx.AsyncClient(base_url=planner.base_url) as http:
        mine = await http.get(f"/v1/tasks/{task.id}", params={"user_id": USER})
        foreign = await http.get(f"/v1/tasks/{task.id}", params={"user_id": "bob"})
    assert mine.status_code == 200
    assert mine.json()["id"] == str(task.id)
    assert foreign.status_code == 404
    assert foreign.json()["error"] == {
        "code": "not_found",
        "message": f"no task {task.id} for user bob",
        "details": {"task_id": str(task.id)},
    }
