"""Executions over HTTP: record running or finished runs, finish once, idempotent retries, defaults from
the task, filters, and isolation between users."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import httpx
import pytest

from pma_core.clients import PlannerEngineClient, RemoteServiceError
from pma_core.contracts.executions import ExecutionCreate, ExecutionFinish, ExecutionRead
from pma_core.contracts.plans import PlanCreate, PlanRead
from pma_core.contracts.tasks import TaskImport

USER = "alice"


async def launch_plan(planner: PlannerEngineClient, user: str = USER) -> PlanRead:
    return await planner.create_plan(PlanCreate(user_id=user, intent="Launch the Q1 newsletter"))


async def record(planner: PlannerEngineClient, **fields: Any) -> ExecutionRead:
    return await planner.record_execution(ExecutionCreate.model_validate({"user_id": USER} | fields))


async def test_record_running_then_finish(planner: PlannerEngineClient) -> None:
    plan = await launch_plan(planner)
    task = plan.tasks[1]
    started = datetime.now(UTC) - timedelta(hours=2)

    running = await record(planner, task_id=task.id, started_at=started)

    # Defaults come from the task: its plan, its title, its estimate.
    assert (running.task_id, running.plan_id, running.subject) == (task.id, plan.id, task.title)
    assert (running.estimated_minutes, running.status, running.run_kind) == (120, "running", "task")
    assert (running.started_at, running.finished_at, running.actual_minutes) == (started, None, None)

    finished = await planner.finish_execution(
        running.id,
        ExecutionFinish(
            user_id=USER, status="succeeded", finished_at=started + timedelta(minutes=97), outcome="sent to review"
        ),
    )
    # actual_minutes from the times when not given.
    assert (finished.id, finished.status, finished.actual_minutes) == (running.id, "succeeded", 97)
    assert (finished.finished_at, finished.outcome) == (started + timedelta(minutes=97), "sent to review")

    with pytest.raises(RemoteServiceError) as caught:
        await planner.finish_execution(running.id, ExecutionFinish(user_id=USER, status="failed"))
    assert (caught.value.status_code, caught.value.code) == (409, "already_finished")
    assert caught.value.details == {"status": "succeeded"}
    (stored,) = (await planner.list_executions(USER)).executions
    assert stored == finished


async def test_finished_runs_take_actual_minutes_given_or_from_their_times(planner: PlannerEngineClient) -> None:
    started = datetime.now(UTC) - timedelta(hours=1)

    explicit = await record(
        planner, subject="call the bank", status="failed", started_at=started,
        finished_at=started + timedelta(minutes=20), actual_minutes=25, estimated_minutes=15, run_kind="other",
    )  # fmt: skip
    computed = await record(
        planner, subject="tidy", status="succeeded", started_at=started, finished_at=started + timedelta(minutes=44)
    )

    assert (explicit.actual_minutes, explicit.estimated_minutes, explicit.task_id, explicit.plan_id) == (
        25,
        15,
        None,
        None,
    )
    assert (explicit.status, explicit.run_kind, explicit.subject) == ("failed", "other", "call the bank")
    assert (computed.actual_minutes, computed.estimated_minutes) == (44, None)
    # Explicit values win over the task's.
    plan = await launch_plan(planner)
    override = await record(planner, task_id=plan.tasks[0].id, subject="custom", estimated_minutes=5)
    assert (override.subject, override.estimated_minutes, override.plan_id) == ("custom", 5, plan.id)


async def test_a_finished_run_recorded_without_its_start_does_not_start_after_it_ends(
    planner: PlannerEngineClient,
) -> None:
    # started_at defaulted to now, after this finished_at: the table's checks refused the row (a 500).
    finished = datetime.now(UTC) - timedelta(hours=1)

    run = await record(planner, subject="filed the report", status="succeeded", finished_at=finished)
    timed = await record(planner, subject="call", status="failed", finished_at=finished, actual_minutes=30)

    assert (run.started_at, run.finished_at, run.actual_minutes) == (finished, finished, 0)
    assert (timed.started_at, timed.finished_at, timed.actual_minutes) == (finished, finished, 30)
    # A finish a little ahead of this clock (within the skew) still starts now.
    ahead = datetime.now(UTC) + timedelta(minutes=2)
    soon = await record(planner, subject="soon", status="succeeded", finished_at=ahead)
    assert datetime.now(UTC) - timedelta(minutes=1) < soon.started_at < ahead
    assert soon.actual_minutes in (1, 2)


async def test_a_finish_before_the_start_is_a_422_and_a_start_ahead_of_the_clock_finishes_at_it(
    planner: PlannerEngineClient,
) -> None:
    started = datetime.now(UTC) - timedelta(minutes=30)
    run = await record(planner, subject="write", started_at=started)
    # The table's checks refused a finish before the start (a 500); it is the client's mistake, said so.
    async with httpx.AsyncClient(base_url=planner.base_url) as http:
        early = (started - timedelta(minutes=5)).isoformat()
        response = await http.post(
            f"/v1/executions/{run.id}/finish", json={"user_id": USER, "status": "succeeded", "finished_at": early}
        )
    assert response.status_code == 422, response.text
    (detail,) = response.json()["error"]["details"]
    assert (detail["field"], detail["type"]) == ("body.finished_at", "before_start")
    assert "is before the run's started_at" in detail["message"]
    assert (await planner.list_executions(USER)).executions[0].status == "running"

    # A start a little ahead of this clock (within the skew), finished with no moment: now would be before
    # the start, so it finishes at its start.
    ahead = datetime.now(UTC) + timedelta(minutes=2)
    early_start = await record(planner, subject="ahead", started_at=ahead)
    finished = await planner.finish_execution(early_start.id, ExecutionFinish(user_id=USER, status="abandoned"))
    assert (finished.status, finished.finished_at, finished.actual_minutes) == ("abandoned", ahead, 0)


async def test_an_idempotency_key_returns_the_first_run(planner: PlannerEngineClient) -> None:
    body = {"user_id": USER, "subject": "agent run", "run_kind": "agent", "idempotency_key": "run-1"}
    async with httpx.AsyncClient(base_url=planner.base_url) as http:
        first = await http.post("/v1/executions", json=body)
        again = await http.post("/v1/executions", json=body | {"subject": "changed"})
        by_header = await http.post("/v1/executions", json={"user_id": USER}, headers={"Idempotency-Key": "run-2"})
        header_again = await http.post("/v1/executions", json={"user_id": USER}, headers={"Idempotency-Key": "run-2"})
        mismatch = await http.post("/v1/executions", json=body, headers={"Idempotency-Key": "run-3"})

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    assert first.json()["idempotency_key"] == "run-1"
    assert (by_header.status_code, header_again.status_code) == (201, 200)
    assert header_again.json()["id"] == by_header.json()["id"]
    assert (mismatch.status_code, mismatch.json()["error"]["details"][0]["field"]) == (422, "body.idempotency_key")
    assert len((await planner.list_executions(USER)).executions) == 2


async def test_unknown_or_foreign_task_and_plan_are_404(planner: PlannerEngineClient) -> None:
    theirs = await launch_plan(planner, user="bob")
    cases = [
        ({"task_id": uuid4()}, "task_id"),
        ({"task_id": theirs.tasks[0].id}, "task_id"),
        ({"plan_id": uuid4()}, "plan_id"),
        ({"plan_id": theirs.id}, "plan_id"),
    ]
    for fields, name in cases:
        with pytest.raises(RemoteServiceError) as caught:
            await record(planner, **fields)
        assert caught.value.status_code == 404
        assert caught.value.details == {name: str(next(iter(fields.values())))}
    assert (await planner.list_executions(USER)).executions == []

    run = await record(planner, subject="mine")
    with pytest.raises(RemoteServiceError) as caught:
        await planner.finish_execution(run.id, ExecutionFinish(user_id="bob", status="succeeded"))
    assert caught.value.status_code == 404
    assert (await planner.list_executions("bob")).executions == []
    assert (await planner.list_executions(USER)).executions[0].status == "running"


async def test_bad_executions_are_422_naming_the_field(planner: PlannerEngineClient) -> None:
    now = datetime.now(UTC)
    cases: list[tuple[dict[str, Any], str, str]] = [
        ({"started_at": (now + timedelta(hours=1)).isoformat()}, "body.started_at", "is in the future"),
        (
            {"status": "running", "actual_minutes": 10},
            "body",
            "a running execution has no finished_at or actual_minutes yet",
        ),
        (
            {
                "status": "succeeded",
                "started_at": now.isoformat(),
                "finished_at": (now - timedelta(hours=1)).isoformat(),
            },
            "body",
            "finished_at is before started_at",
        ),
        ({"status": "paused"}, "body.status", "'running'"),
        ({"task_id": "not-a-uuid"}, "body.task_id", "valid UUID"),
        ({"started_at": "2026-01-01T10:00:00"}, "body.started_at", "timezone"),
    ]
    async with httpx.AsyncClient(base_url=planner.base_url) as http:
        for fields, field, message in cases:
            response = await http.post("/v1/executions", json={"user_id": USER} | fields)
            assert response.status_code == 422, fields
            details = response.json()["error"]["details"]
            assert any(d["field"] == field and message in d["message"] for d in details), details
        run = (await http.post("/v1/executions", json={"user_id": USER})).json()
        finish = await http.post(
            f"/v1/executions/{run['id']}/finish",
            json={"user_id": USER, "status": "running"},
        )
        assert finish.status_code == 422
        assert finish.json()["error"]["details"][0]["field"] == "body.status"
        too_many = await http.get("/v1/executions", params={"user_id": USER, "limit": 201})
        assert too_many.status_code == 422
        assert too_many.json()["error"]["details"][0]["field"] == "query.limit"


async def test_list_filters(planner: PlannerEngineClient) -> None:
    plan = await launch_plan(planner)
    base = datetime.now(UTC) - timedelta(days=3)
    first = await record(planner, task_id=plan.tasks[0].id, started_at=base)
    second = await record(planner, task_id=plan.tasks[1].id, started_at=base + timedelta(days=1))
    loose = await record(planner, subject="loose", started_at=base + timedelta(days=2))

    async def ids(**filters: Any) -> list[Any]:
        return [run.id for run in (await planner.list_executions(USER, **filters)).executions]

    assert await ids() == [loose.id, second.id, first.id]  # newest first
    assert await ids(task_id=plan.tasks[0].id) == [first.id]
    assert await ids(plan_id=plan.id) == [second.id, first.id]
    assert await ids(since=(base + timedelta(hours=12)).isoformat()) == [loose.id, second.id]
    assert await ids(until=(base + timedelta(days=1)).isoformat()) == [first.id]
    assert await ids(limit=1) == [loose.id]
    assert await ids(task_id=plan.tasks[4].id) == []


async def test_users_see_only_their_own_records(planner: PlannerEngineClient) -> None:
    plan = await launch_plan(planner)
    await record(planner, task_id=plan.tasks[0].id)
    await planner.import_tasks(
        TaskImport.model_validate(
            {"user_id": USER, "tasks": [{"external_ref": "x", "title": "X", "estimate_minutes": 5}]}
        )
    )

    assert (await planner.list_plans("bob")).plans == []
    assert (await planner.list_tasks("bob")).tasks == []
    assert (await planner.list_executions("bob")).executions == []
    assert (await planner.list_executions("bob", plan_id=plan.id)).executions == []
    assert (await planner.list_tasks("bob", plan_id=plan.id)).tasks == []
    assert (await planner.estimate_accuracy("bob")).runs == 0
    with pytest.raises(RemoteServiceError) as caught:
        await planner.get_plan("bob", plan.id)
    assert (caught.value.status_code, caught.value.details) == (404, {"plan_id": str(plan.id)})
    async with httpx.AsyncClient(base_url=planner.base_url) as http:
        accept = await http.post(f"/v1/plans/{plan.id}/accept", json={"user_id": "bob"})
        status = await http.post(f"/v1/plans/{plan.id}/status", json={"user_id": "bob", "status": "cancelled"})
        task = await http.get(f"/v1/tasks/{plan.tasks[0].id}", params={"user_id": "bob"})
    assert [accept.status_code, status.status_code, task.status_code] == [404, 404, 404]
    assert (await planner.get_plan(USER, plan.id)).status == "draft"
    assert len((await planner.list_tasks(USER)).tasks) == 6
