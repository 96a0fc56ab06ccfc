"""The hand-over of an accepted plan to the scheduler-engine, through its typed client."""

from __future__ import annotations

from planner_engine.domain.models import HandOver
from pma_core.clients import SchedulerEngineClient
from pma_core.contracts.plans import PlanRead
from pma_core.contracts.scheduling import SchedulableTask, ScheduleRequest
from pma_core.errors import AppError


def open_tasks(plan: PlanRead) -> list[SchedulableTask]:
    """The plan's tasks still to be placed (not in progress, done or cancelled)."""
    return [
        SchedulableTask.model_validate(task.model_dump(include=set(SchedulableTask.model_fields)))
        for task in plan.tasks
        if task.status in ("todo", "scheduled")
    ]


def schedule_request(plan: PlanRead, tasks: list[SchedulableTask]) -> ScheduleRequest:
    """The hand-over of `tasks`; the key (plan id + revision) makes a retried hand-over place them once."""
    return ScheduleRequest(
        user_id=plan.user_id,
        plan_id=plan.id,
        plan_revision=plan.revision,
        tasks=tasks,
        due_at=plan.due_at,
        constraints=plan.constraints,
        idempotency_key=f"plan:{plan.id}:r{plan.revision}",
    )


class PlanScheduler:
    def __init__(self, client: SchedulerEngineClient) -> None:
        self._client = client

    async def hand_over(self, plan: PlanRead) -> HandOver:
        """The scheduler's run id, or the reason it could not take the plan now (never raises)."""
        tasks = open_tasks(plan)
        if not tasks:
            return HandOver(run_id=None, error="the plan has no open tasks to schedule")
        try:
            accepted = await self._client.schedule(schedule_request(plan, tasks))
        except AppError as exc:
            return HandOver(run_id=None, error=f"{exc.code}: {exc.message}")
        return HandOver(run_id=accepted.run_id, error=None)
