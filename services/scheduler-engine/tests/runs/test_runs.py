"""Runs over HTTP: the planner's hand-over, runs on demand, dry runs, reports, stability and bad input."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from pma_core.clients import RemoteServiceError, SchedulerEngineClient
from pma_core.contracts.scheduling import (
    RunCreate,
    RunTask,
    SchedulableTask,
    ScheduleRequest,
    SchedulingProfile,
    TimeWindow,
)

from .conftest import finished_run
from .standin_planner import StandInPlanner

USER = "alice"
ALL_WEEK = {day: [TimeWindow(start="00:00", end="24:00")] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}


def _task(title: str, minutes: int, **fields: Any) -> SchedulableTask:
    defaults: dict[str, Any] = {
        "priority": "normal", "earliest_start": None, "deadline": None, "depends_on": [], "splittable": False,
        "min_chunk_minutes": None, "tags": [],
    }  # fmt: skip
    return SchedulableTask(id=uuid.uuid4(), title=title, estimate_minutes=minutes, **(defaults | fields))


def _hand_over(tasks: list[SchedulableTask], *, plan_id: uuid.UUID | None = None, revision: int = 1) -> ScheduleRequest:
    plan_id = plan_id or uuid.uuid4()
    return ScheduleRequest(
        user_id=USER, plan_id=plan_id, plan_revision=revision, tasks=tasks, due_at=None, constraints={},
        idempotency_key=f"plan:{plan_id}:r{revision}",
    )  # fmt: skip


async def test_a_hand_over_is_taken_at_once_and_solved_in_the_background(
    scheduler: SchedulerEngineClient, standin_planner: StandInPlanner
) -> None:
    write = _task("Write the welcome emails", 90)
    build = _task("Build the pricing page", 120, depends_on=[write.id], priority="high")
    accepted = await scheduler.schedule(_hand_over([write, build]))
    assert accepted.status in ("pending", "running")

    run = await finished_run(scheduler, USER, accepted.run_id)
    assert run.status == "succeeded"
    assert run.solver_status in ("optimal", "feasible", "greedy")
    by_task = {block.task_id: block for block in run.blocks}
    assert set(by_task) == {write.id, build.id}
    assert by_task[build.id].start >= by_task[write.id].end  # the dependency first
    assert [t.status for t in run.tasks] == ["on_track", "on_track"]
    assert sum(t.scheduled_minutes for t in run.tasks) == 210
    assert run.solve_ms is not None
    assert run.objective is not None

    # The planner is told, once, with each task's blocks.
    ((_plan_id, report),) = await standin_planner.wait_for_reports()
    assert report.run_id == accepted.run_id
    assert report.status == "succeeded"
    assert {t.task_id: [b.block_id for b in t.blocks] for t in report.tasks} == {
        write.id: [by_task[write.id].id],
        build.id: [by_task[build.id].id],
    }


async def test_the_same_key_never_creates_a_second_run(scheduler: SchedulerEngineClient) -> None:
    request = _hand_over([_task("Draft the launch post", 60)])
    first = await scheduler.schedule(request)
    again = await scheduler.schedule(request)
    assert again.run_id == first.run_id
    await finished_run(scheduler, USER, first.run_id)
    # Another body under the same key is refused, not replayed.
    other = request.model_copy(update={"tasks": [_task("Something else", 30)]})
    with pytest.raises(RemoteServiceError) as refused:
        await scheduler.schedule(other)
    assert (refused.value.status_code, refused.value.code) == (409, "idempotency_key_reused")


async def test_a_dry_run_proposes_and_keeps_nothing(scheduler: SchedulerEngineClient) -> None:
    tasks = [RunTask(id=uuid.uuid4(), title="Review the Stripe integration", estimate_minutes=45)]
    accepted = await scheduler.create_run(RunCreate(user_id=USER, tasks=tasks, dry_run=True))
    run = await finished_run(scheduler, USER, accepted.run_id)
    assert run.dry_run
    assert run.status == "succeeded"
    ((block),) = run.blocks
    assert (block.task_id, block.title, int((block.end - block.start).total_seconds() // 60)) == (
        tasks[0].id, "Review the Stripe integration", 45,
    )  # fmt: skip
    url = await scheduler.feed_url(USER)
    async with httpx.AsyncClient() as http:
        feed = await http.get(url)
    assert "VEVENT" not in feed.text  # nothing was kept: the feed holds no block


async def test_a_task_that_cannot_fit_comes_back_with_its_reason(scheduler: SchedulerEngineClient) -> None:
    soon = datetime.now(UTC) + timedelta(hours=2)
    tasks = [
        RunTask(id=uuid.uuid4(), title="Ten hours in one go", estimate_minutes=600),
        RunTask(
            id=uuid.uuid4(),
            title="Due in two hours",
            estimate_minutes=480,
            deadline=soon,
            hard_deadline=True,
            splittable=True,
        ),
    ]
    accepted = await scheduler.create_run(RunCreate(user_id=USER, tasks=tasks))
    run = await finished_run(scheduler, USER, accepted.run_id)
    assert run.status == "partial"
    reasons = {t.title: t.reason for t in run.unscheduled}
    assert reasons == {
        "Ten hours in one go": "longer than any free window, and not splittable",
        "Due in two hours": "not enough free time before its deadline",
    }
    assert run.blocks == []


async def test_a_reschedule_keeps_the_blocks_still_and_their_ids(scheduler: SchedulerEngineClient) -> None:
    await scheduler.put_profile(USER, SchedulingProfile(working_hours=ALL_WEEK, lunch=None, freeze_hours=0))
    tasks = [RunTask(id=uuid.uuid4(), title=f"Task {i}", estimate_minutes=60) for i in range(3)]
    # A window that starts tomorrow: both runs see the same free time, whatever the clock did between them.
    tomorrow = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
    request = RunCreate(user_id=USER, tasks=tasks, window_start=tomorrow, window_days=3)
    first = await finished_run(scheduler, USER, (await scheduler.create_run(request)).run_id)
    second = await finished_run(scheduler, USER, (await scheduler.create_run(request)).run_id)
    assert second.moved == 0
    assert {(b.id, b.start, b.end) for b in second.blocks} == {(b.id, b.start, b.end) for b in first.blocks}


async def test_the_planner_being_down_delays_the_report_but_loses_nothing(
    scheduler: SchedulerEngineClient, standin_planner: StandInPlanner
) -> None:
    standin_planner.unavailable_for = 1
    accepted = await scheduler.schedule(_hand_over([_task("Plan the webinar", 30)]))
    await finished_run(scheduler, USER, accepted.run_id)
    reports = await standin_planner.wait_for_reports()
    assert [report.run_id for _, report in reports] == [accepted.run_id]


@pytest.mark.parametrize(
    ("change", "field", "kind"),
    [
        ({"depends_on": ["00000000-0000-0000-0000-000000000001"]}, "body.tasks.0.depends_on", "unknown"),
        ({"estimate_minutes": 0}, "body.tasks.0.estimate_minutes", None),
        ({"deadline": "2026-01-01T00:00:00Z", "earliest_start": "2026-02-01T00:00:00Z"}, "body.tasks.0", "window"),
    ],
)
async def test_bad_tasks_are_422_naming_the_task(
    scheduler: SchedulerEngineClient, change: dict[str, Any], field: str, kind: str | None
) -> None:
    task = {"id": str(uuid.uuid4()), "title": "x", "estimate_minutes": 30} | change
    async with httpx.AsyncClient(base_url=scheduler.base_url) as http:
        response = await http.post("/v1/runs", json={"user_id": USER, "tasks": [task]})
    assert response.status_code == 422
    detail = response.json()["error"]["details"][0]
    assert detail["field"].startswith(field)
    if kind:
        assert detail["type"] == kind


@pytest.mark.parametrize(
    ("change", "field"),
    [
        # Each of these once passed the hand-over's schema and failed inside (a 500): the contract now says them.
        ({"title": ""}, "body.tasks.0.title"),
        ({"estimate_minutes": 2_401}, "body.tasks.0.estimate_minutes"),
        ({"min_chunk_minutes": 0}, "body.tasks.0.min_chunk_minutes"),
        ({"earliest_start": 0}, "body.tasks.0.earliest_start"),
    ],
)
async def test_a_hand_over_with_a_task_no_run_can_take_is_422(
    scheduler: SchedulerEngineClient, change: dict[str, Any], field: str
) -> None:
    body = _hand_over([_task("Write the brief", 30)]).model_dump(mode="json")
    body["tasks"][0] |= change
    async with httpx.AsyncClient(base_url=scheduler.base_url) as http:
        response = await http.post("/v1/schedule", json=body)
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"].startswith(field)


async def test_a_revision_beyond_the_column_is_422(scheduler: SchedulerEngineClient) -> None:
    body = _hand_over([_task("Write the brief", 30)]).model_dump(mode="json") | {"plan_revision": 2**31}
    async with httpx.AsyncClient(base_url=scheduler.base_url) as http:
        response = await http.post("/v1/schedule", json=body)
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"] == "body.plan_revision"


async def test_cycles_windows_and_sizes_are_refused(scheduler: SchedulerEngineClient) -> None:
    a, b = str(uuid.uuid4()), str(uuid.uuid4())
    cyclic = [
        {"id": a, "title": "a", "estimate_minutes": 30, "depends_on": [b]},
        {"id": b, "title": "b", "estimate_minutes": 30, "depends_on": [a]},
    ]
    too_many = [{"id": str(uuid.uuid4()), "title": "t", "estimate_minutes": 15} for _ in range(501)]
    async with httpx.AsyncClient(base_url=scheduler.base_url) as http:
        cycle = await http.post("/v1/runs", json={"user_id": USER, "tasks": cyclic})
        wide = await http.post("/v1/runs", json={"user_id": USER, "tasks": cyclic[:1], "window_days": 91})
        many = await http.post("/v1/runs", json={"user_id": USER, "tasks": too_many})
        neither = await http.post("/v1/runs", json={"user_id": USER})
        both = await http.post("/v1/runs", json={"user_id": USER, "tasks": too_many[:1], "plan_id": str(uuid.uuid4())})
    assert cycle.status_code == 422
    assert cycle.json()["error"]["details"][0]["type"] == "cycle"
    assert (wide.status_code, many.status_code, neither.status_code, both.status_code) == (422, 422, 422, 422)
    assert "exactly one of plan_id and tasks" in both.json()["error"]["message"]


async def test_another_users_run_is_404(scheduler: SchedulerEngineClient) -> None:
    tasks = [RunTask(id=uuid.uuid4(), title="Mine", estimate_minutes=30)]
    accepted = await scheduler.create_run(RunCreate(user_id=USER, tasks=tasks))
    with pytest.raises(RemoteServiceError) as missing:
        await scheduler.get_run("bob", accepted.run_id)
    assert missing.value.status_code == 404
    await finished_run(scheduler, USER, accepted.run_id)
