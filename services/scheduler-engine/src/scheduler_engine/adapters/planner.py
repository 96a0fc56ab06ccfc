"""The planner-engine as the scheduler needs it: a plan's open tasks, and the report of a finished run."""

from __future__ import annotations

import logging
from uuid import UUID

from pma_core.clients import PlannerEngineClient
from pma_core.contracts.plans import PlanRead
from pma_core.contracts.scheduling import RunTask, ScheduleResult
from pma_core.errors import AppError, NotFoundError

_log = logging.getLogger(__name__)
OPEN_STATUSES = ("todo", "scheduled")


class PlannerGateway:
    def __init__(self, client: PlannerEngineClient) -> None:
        self._client = client

    async def open_tasks(self, user_id: str, plan_id: UUID) -> tuple[PlanRead, list[RunTask]]:
        """The plan and its tasks still to place; 404 when the planner holds no such plan of the user."""
        try:
            plan = await self._client.get_plan(user_id, plan_id)
        except AppError as exc:
            if exc.status_code == 404:
                raise NotFoundError(f"plan {plan_id} not found", details={"plan_id": str(plan_id)}) from exc
            raise
        fields = set(RunTask.model_fields) - {"hard_deadline"}
        tasks = [
            RunTask.model_validate(task.model_dump(include=fields))
            for task in plan.tasks
            if task.status in OPEN_STATUSES
        ]
        return plan, tasks

    async def report(self, plan_id: UUID, result: ScheduleResult) -> bool:
        try:
            await self._client.report_schedule(plan_id, result)
        except AppError as exc:
            _log.warning("the planner did not take run %s: %s (retried by the sweep)", result.run_id, exc.message)
            return False
        return True
