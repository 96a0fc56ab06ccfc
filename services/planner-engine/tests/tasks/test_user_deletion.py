"""Deleting a user: their plans, tasks, SOPs and executions go in one transaction; another user's stay."""

from __future__ import annotations

import httpx
import pytest

from pma_core.clients import PlannerEngineClient
from pma_core.clients.base import RemoteServiceError
from pma_core.contracts.executions import ExecutionCreate
from pma_core.contracts.plans import PlanAccept, PlanCreate
from pma_core.contracts.tasks import TaskImport, TaskImportItem


async def _user_with_everything(planner: PlannerEngineClient, user_id: str) -> None:
    plan = await planner.create_plan(PlanCreate(user_id=user_id, intent="Write and send the weekly newsletter"))
    await planner.accept_plan(plan.id, PlanAccept(user_id=user_id))  # saves the SOP
    await planner.import_tasks(
        TaskImport(
            user_id=user_id,
            source="coda",
            tasks=[TaskImportItem(external_ref="row-1", title="File taxes", estimate_minutes=30)],
        )
    )
    await planner.record_execution(
        ExecutionCreate(user_id=user_id, task_id=plan.tasks[0].id, status="succeeded", actual_minutes=30)
    )


async def test_deleting_a_user_removes_everything_of_theirs_and_nothing_else(planner: PlannerEngineClient) -> None:
    for user_id in ("alice", "bob"):
        await _user_with_everything(planner, user_id)
    bob_before = (await planner.list_tasks("bob")).tasks

    deleted = await planner.delete_user("alice")
    assert (deleted["plans"], deleted["sops"], deleted["execution_runs"]) == (1, 1, 1)
    assert deleted["tasks"] >= 2  # the plan's tasks and the imported one

    assert (await planner.list_plans("alice")).plans == []
    assert (await planner.list_tasks("alice")).tasks == []
    assert (await planner.list_sops("alice")).sops == []
    assert (await planner.list_executions("alice")).executions == []
    assert (await planner.list_tasks("bob")).tasks == bob_before
    assert len((await planner.list_plans("bob")).plans) == 1
    assert set((await planner.delete_user("alice")).values()) == {0}


async def test_a_bad_user_id_is_a_422(planner: PlannerEngineClient) -> None:
    with pytest.raises(RemoteServiceError) as refused:
        await planner.delete_user("no spaces allowed")
    assert refused.value.status_code == 422


async def test_users_active_is_never_taken_for_a_user_id(planner: PlannerEngineClient) -> None:
    async with httpx.AsyncClient(base_url=planner.base_url) as http:
        refused = await http.delete("/v1/users/active")
        options = await http.options("/v1/users/active")
    assert refused.status_code == 405
    assert "DELETE" not in refused.headers["allow"]
    assert "DELETE" not in options.headers["allow"]
    assert "GET" in options.headers["allow"]
