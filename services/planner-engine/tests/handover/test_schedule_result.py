"""The scheduler's report of a finished run (POST /v1/plans/{id}/schedule-result): each task shows its
blocks and risk, a task that did not fit goes back to todo, and reports are idempotent and ordered."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from pma_core.clients import PlannerEngineClient, RemoteServiceError
from pma_core.contracts.plans import PlanAccept, PlanCreate, PlanRead
from pma_core.contracts.scheduling import ScheduledTask, ScheduleResult
from pma_core.contracts.tasks import PlannedBlock

USER = "report-user"
MONDAY_NINE = datetime(2026, 12, 7, 9, tzinfo=UTC)


async def _accepted(planner: PlannerEngineClient) -> PlanRead:
    plan = await planner.create_plan(PlanCreate(user_id=USER, intent="Write the grant application"))
    return await planner.accept_plan(plan.id, PlanAccept(user_id=USER, schedule=False))


def _result(plan: PlanRead, *, finished: datetime, unscheduled: int = 0) -> ScheduleResult:
    tasks = []
    for index, task in enumerate(plan.tasks):
        if index < unscheduled:
            tasks.append(ScheduledTask(task_id=task.id, status="unscheduled", expected_finish=None,
                                       reason="not enough free time before its deadline", blocks=[]))  # fmt: skip
            continue
        start = MONDAY_NINE + timedelta(hours=2 * index)
        block = PlannedBlock(block_id=uuid.uuid4(), start=start, end=start + timedelta(minutes=task.estimate_minutes))
        tasks.append(ScheduledTask(task_id=task.id, status="on_track", expected_finish=block.end, reason=None,
                                   blocks=[block]))  # fmt: skip
    return ScheduleResult(
        user_id=USER, run_id=uuid.uuid4(), plan_revision=plan.revision, finished_at=finished,
        status="partial" if unscheduled else "succeeded", tasks=tasks,
    )  # fmt: skip


async def test_a_report_shows_each_tasks_blocks_and_the_plans_outcome(planner: PlannerEngineClient) -> None:
    plan = await _accepted(planner)
    result = _result(plan, finished=datetime.now(UTC), unscheduled=1)
    await planner.report_schedule(plan.id, result)
    await planner.report_schedule(plan.id, result)  # the same report again changes nothing

    shown = await planner.get_plan(USER, plan.id)
    assert shown.status == "scheduled"
    outcome = shown.scheduling.outcome
    assert outcome is not None
    assert (outcome.run_id, outcome.status, outcome.scheduled_tasks, outcome.unscheduled_tasks) == (
        result.run_id, "partial", len(plan.tasks) - 1, 1,
    )  # fmt: skip
    first, *rest = shown.tasks
    assert first.schedule is not None
    assert (first.status, first.schedule.status, first.schedule.reason) == (
        "todo", "unscheduled", "not enough free time before its deadline",
    )  # fmt: skip
    for task, reported in zip(rest, result.tasks[1:], strict=True):
        assert task.status == "scheduled"
        assert task.schedule is not None
        assert task.schedule.blocks == reported.blocks


async def test_a_late_report_of_an_older_run_is_ignored(planner: PlannerEngineClient) -> None:
    plan = await _accepted(planner)
    newer = _result(plan, finished=datetime.now(UTC))
    older = _result(plan, finished=datetime.now(UTC) - timedelta(minutes=5), unscheduled=len(plan.tasks))
    await planner.report_schedule(plan.id, newer)
    await planner.report_schedule(plan.id, older)
    shown = await planner.get_plan(USER, plan.id)
    assert shown.scheduling.outcome is not None
    assert shown.scheduling.outcome.run_id == newer.run_id
    assert {t.status for t in shown.tasks} == {"scheduled"}


async def test_reports_for_another_revision_another_users_plan_or_foreign_tasks_are_refused(
    planner: PlannerEngineClient,
) -> None:
    plan = await _accepted(planner)
    stale = _result(plan, finished=datetime.now(UTC)).model_copy(update={"plan_revision": plan.revision + 1})
    with pytest.raises(RemoteServiceError) as conflict:
        await planner.report_schedule(plan.id, stale)
    assert (conflict.value.status_code, conflict.value.code) == (409, "stale_revision")

    foreign = _result(plan, finished=datetime.now(UTC)).model_copy(update={"user_id": "someone-else"})
    with pytest.raises(RemoteServiceError) as missing:
        await planner.report_schedule(plan.id, foreign)
    assert missing.value.status_code == 404

    body = _result(plan, finished=datetime.now(UTC)).model_dump(mode="json")
    body["tasks"][0]["task_id"] = str(uuid.uuid4())
    async with httpx.AsyncClient(base_url=planner.base_url) as http:
        unknown = await http.post(f"/v1/plans/{plan.id}/schedule-result", json=body)
    assert unknown.status_code == 422


async def test_a_report_is_refused_with_fields_it_does_not_define_or_moments_as_numbers(
    planner: PlannerEngineClient,
) -> None:
    # A task's schedule and its blocks took unknown fields and read `0` as 1970, and stored them as given.
    plan = await _accepted(planner)
    body = _result(plan, finished=datetime.now(UTC)).model_dump(mode="json")
    task = body["tasks"][0]
    block = task["blocks"][0]
    cases: list[tuple[dict[str, object], str]] = [
        (task | {"colour": "red"}, "body.tasks.0.colour"),
        (task | {"blocks": [block | {"note": "x"}]}, "body.tasks.0.blocks.0.note"),
        (task | {"blocks": [block | {"end": 0}]}, "body.tasks.0.blocks.0.end"),
        (task | {"expected_finish": 1_800_000_000}, "body.tasks.0.expected_finish"),
    ]
    async with httpx.AsyncClient(base_url=planner.base_url) as http:
        for changed, field in cases:
            sent = body | {"tasks": [changed, *body["tasks"][1:]]}
            response = await http.post(f"/v1/plans/{plan.id}/schedule-result", json=sent)
            assert response.status_code == 422, (field, response.text)
            assert [d["field"] for d in response.json()["error"]["details"]] == [field]
    assert (await planner.get_plan(USER, plan.id)).scheduling.outcome is None
