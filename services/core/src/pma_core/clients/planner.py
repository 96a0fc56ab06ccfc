"""planner-engine client: plans, tasks, executions, SOPs and prompt templates (`planner.*`)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from pma_core.clients.base import ServiceClient
from pma_core.contracts.executions import (
    EstimateAccuracy,
    ExecutionCreate,
    ExecutionFinish,
    ExecutionListRead,
    ExecutionRead,
)
from pma_core.contracts.library import (
    PromptTemplateCreate,
    PromptTemplateListRead,
    PromptTemplateRead,
    SopCreate,
    SopListRead,
    SopRead,
    SopVersionCreate,
)
from pma_core.contracts.plans import (
    PlanAccept,
    PlanCreate,
    PlanListRead,
    PlanRead,
    PlanReplan,
    PlanStatus,
    PlanStatusUpdate,
    PlanUserRequest,
)
from pma_core.contracts.scheduling import ScheduleResult
from pma_core.contracts.tasks import TaskImport, TaskImportRead, TaskListRead


def _body(model: Any) -> Any:
    return model.model_dump(mode="json", exclude_none=True)


class PlannerEngineClient(ServiceClient):
    service_name = "planner-engine"

    async def create_plan(self, plan: PlanCreate) -> PlanRead:
        """Plan an intent. With an idempotency key the call is safe to retry, and is retried."""
        response = await self.request("POST", "/v1/plans", json=_body(plan), idempotency_key=plan.idempotency_key)
        return PlanRead.model_validate(response.json())

    async def get_plan(self, user_id: str, plan_id: UUID) -> PlanRead:
        return await self.get_model(f"/v1/plans/{plan_id}", PlanRead, params={"user_id": user_id})

    async def list_plans(self, user_id: str, *, status: PlanStatus | None = None, limit: int = 50) -> PlanListRead:
        params: dict[str, Any] = {"user_id": user_id, "limit": limit} | ({"status": status} if status else {})
        return await self.get_model("/v1/plans", PlanListRead, params=params)

    async def accept_plan(self, plan_id: UUID, accept: PlanAccept) -> PlanRead:
        response = await self.request("POST", f"/v1/plans/{plan_id}/accept", json=_body(accept))
        return PlanRead.model_validate(response.json())

    async def set_plan_status(self, plan_id: UUID, update: PlanStatusUpdate) -> PlanRead:
        response = await self.request("POST", f"/v1/plans/{plan_id}/status", json=_body(update))
        return PlanRead.model_validate(response.json())

    async def replan(self, plan_id: UUID, replan: PlanReplan) -> PlanRead:
        response = await self.request("POST", f"/v1/plans/{plan_id}/replan", json=_body(replan))
        return PlanRead.model_validate(response.json())

    async def schedule_plan(self, user_id: str, plan_id: UUID) -> PlanRead:
        """Complete a pending hand-over to the scheduler (safe to repeat)."""
        body = _body(PlanUserRequest(user_id=user_id))
        response = await self.request("POST", f"/v1/plans/{plan_id}/schedule", json=body, idempotency_key=str(plan_id))
        return PlanRead.model_validate(response.json())

    async def report_schedule(self, plan_id: UUID, result: ScheduleResult) -> None:
        """The scheduler's report of a finished run; idempotent by run, so it is retried. (The planner
        answers with the plan, which the scheduler does not need.)"""
        body = result.model_dump(mode="json")
        await self.request(
            "POST", f"/v1/plans/{plan_id}/schedule-result", json=body, idempotency_key=f"run:{result.run_id}"
        )

    async def import_tasks(self, batch: TaskImport) -> TaskImportRead:
        """Upsert by external_ref: safe to repeat, so it is retried."""
        response = await self.request("PUT", "/v1/tasks/import", json=_body(batch))
        return TaskImportRead.model_validate(response.json())

    async def list_tasks(self, user_id: str, **filters: Any) -> TaskListRead:
        params = {"user_id": user_id} | {key: str(value) for key, value in filters.items() if value is not None}
        return await self.get_model("/v1/tasks", TaskListRead, params=params)

    async def record_execution(self, run: ExecutionCreate) -> ExecutionRead:
        response = await self.request("POST", "/v1/executions", json=_body(run), idempotency_key=run.idempotency_key)
        return ExecutionRead.model_validate(response.json())

    async def finish_execution(self, run_id: UUID, finish: ExecutionFinish) -> ExecutionRead:
        response = await self.request("POST", f"/v1/executions/{run_id}/finish", json=_body(finish))
        return ExecutionRead.model_validate(response.json())

    async def list_executions(self, user_id: str, **filters: Any) -> ExecutionListRead:
        params = {"user_id": user_id} | {key: str(value) for key, value in filters.items() if value is not None}
        return await self.get_model("/v1/executions", ExecutionListRead, params=params)

    async def estimate_accuracy(self, user_id: str) -> EstimateAccuracy:
        return await self.get_model("/v1/estimates", EstimateAccuracy, params={"user_id": user_id})

    async def create_sop(self, sop: SopCreate) -> SopRead:
        response = await self.request("POST", "/v1/sops", json=_body(sop))
        return SopRead.model_validate(response.json())

    async def add_sop_version(self, sop_id: UUID, version: SopVersionCreate) -> SopRead:
        response = await self.request("POST", f"/v1/sops/{sop_id}/versions", json=_body(version))
        return SopRead.model_validate(response.json())

    async def get_sop(self, user_id: str, sop_id: UUID) -> SopRead:
        return await self.get_model(f"/v1/sops/{sop_id}", SopRead, params={"user_id": user_id})

    async def list_sops(self, user_id: str) -> SopListRead:
        return await self.get_model("/v1/sops", SopListRead, params={"user_id": user_id})

    async def prompt_templates(self) -> PromptTemplateListRead:
        return await self.get_model("/v1/prompt-templates", PromptTemplateListRead)

    async def add_prompt_template_version(self, name: str, template: PromptTemplateCreate) -> PromptTemplateRead:
        response = await self.request("POST", f"/v1/prompt-templates/{name}/versions", json=_body(template))
        return PromptTemplateRead.model_validate(response.json())
