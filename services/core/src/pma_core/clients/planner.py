"""planner-engine client: plans, tasks, executions, SOPs, prompt templates and active users (`planner.*`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from pma_core.clients.activity import ActivityClient
from pma_core.contracts.executions import (
    MAX_LIMIT,
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
from pma_core.contracts.tasks import MAX_LIST_IDS, TaskImport, TaskImportRead, TaskListRead, TaskRead

# Ids per GET /v1/tasks: the service takes MAX_LIST_IDS (500), but 500 ids make a 20 KiB request line, over
# the 16 KiB that uvicorn's HTTP parser (h11) buffers for a request head that arrives in pieces, as it does
# over a real network (it drops the connection); 250 stay near 10 KiB.
IDS_PER_REQUEST = min(250, MAX_LIST_IDS)


def _body(model: Any) -> Any:
    return model.model_dump(mode="json", exclude_none=True)


def _query_value(value: Any) -> Any:
    """A query parameter as the services read it: moments in ISO 8601, lists repeated, the rest as text."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, list | tuple | set | frozenset):
        return [_query_value(item) for item in value]
    return str(value)


def _query(user_id: str, filters: dict[str, Any]) -> dict[str, Any]:
    return {"user_id": user_id} | {key: _query_value(value) for key, value in filters.items() if value is not None}


class PlannerEngineClient(ActivityClient):
    service_name = "planner-engine"

    async def create_plan(self, plan: PlanCreate) -> PlanRead:
        """Plan an intent. With an idempotency key the call is safe to retry, and is retried."""
        response = await self.request("POST", "/v1/plans", json=_body(plan), idempotency_key=plan.idempotency_key)
        return PlanRead.model_validate(response.json())

    async def get_plan(self, user_id: str, plan_id: UUID) -> PlanRead:
        return await self.get_model(f"/v1/plans/{plan_id}", PlanRead, params={"user_id": user_id})

    async def list_plans(
        self,
        user_id: str,
        *,
        status: PlanStatus | None = None,
        limit: int = 50,
        created_after: datetime | None = None,
        created_before: datetime | None = None,
    ) -> PlanListRead:
        """Newest first; the window is [created_after, created_before)."""
        params = _query(
            user_id,
            {"status": status, "limit": limit, "created_after": created_after, "created_before": created_before},
        )
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
        """`filters` are GET /v1/tasks's query parameters (`status`, `ids`, `completed_after`, `limit`...)."""
        return await self.get_model("/v1/tasks", TaskListRead, params=_query(user_id, filters))

    async def tasks_by_ids(self, user_id: str, ids: Sequence[UUID]) -> list[TaskRead]:
        """The user's tasks among `ids` (any number: asked for in chunks); an unknown id, or another
        user's, is left out."""
        wanted = list(dict.fromkeys(ids))
        found: list[TaskRead] = []
        for start in range(0, len(wanted), IDS_PER_REQUEST):
            chunk = wanted[start : start + IDS_PER_REQUEST]
            found += (await self.list_tasks(user_id, ids=chunk, limit=len(chunk))).tasks
        return found

    async def record_execution(self, run: ExecutionCreate) -> ExecutionRead:
        response = await self.request("POST", "/v1/executions", json=_body(run), idempotency_key=run.idempotency_key)
        return ExecutionRead.model_validate(response.json())

    async def finish_execution(self, run_id: UUID, finish: ExecutionFinish) -> ExecutionRead:
        response = await self.request("POST", f"/v1/executions/{run_id}/finish", json=_body(finish))
        return ExecutionRead.model_validate(response.json())

    async def list_executions(self, user_id: str, **filters: Any) -> ExecutionListRead:
        """One page; `filters` are the query parameters (`since`, `until`, `cursor`, `limit`...)."""
        return await self.get_model("/v1/executions", ExecutionListRead, params=_query(user_id, filters))

    async def executions_between(self, user_id: str, since: datetime, until: datetime) -> list[ExecutionRead]:
        """Every execution started in [since, until), newest first, following the pages to the end."""
        runs: list[ExecutionRead] = []
        cursor: str | None = None
        while True:
            page = await self.list_executions(user_id, since=since, until=until, limit=MAX_LIMIT, cursor=cursor)
            runs += page.executions
            if page.next_cursor is None:
                return runs
            cursor = page.next_cursor

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
