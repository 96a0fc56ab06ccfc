"""Tasks and executions over HTTP: import tasks from outside, list them; record and finish executions."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Response, status

from planner_engine.adapters.tasks import TaskFilter
from planner_engine.deps import ExecutionsDep, TasksDep
from planner_engine.domain.estimates import build_profile
from pma_core.app.params import IdempotencyKeyHeader, UserQuery, check_window, with_header_key
from pma_core.app.schemas import error_responses
from pma_core.contracts.common import IsoDatetime
from pma_core.contracts.executions import (
    MAX_LIMIT,
    EstimateAccuracy,
    ExecutionCreate,
    ExecutionFinish,
    ExecutionListRead,
    ExecutionRead,
)
from pma_core.contracts.tasks import (
    MAX_LIST_IDS,
    MAX_LIST_LIMIT,
    TaskImport,
    TaskImportRead,
    TaskImportResult,
    TaskListRead,
    TaskRead,
    TaskStatus,
)

router = APIRouter(prefix="/v1", tags=["tasks", "executions"])


@router.put(
    "/tasks/import",
    response_model=TaskImportRead,
    summary="upsert tasks by external_ref",
    responses=error_responses(404),
)
async def import_tasks(body: TaskImport, tasks: TasksDep) -> TaskImportRead:
    """Up to 100 tasks (e.g. Coda rows sent by n8n), in one transaction. A row whose `external_ref` was
    imported before updates that task (`updated`, or `unchanged` when nothing differs); it never
    duplicates it. An unknown `plan_id` is a 404 and nothing is stored."""
    results = await tasks.import_tasks(body.user_id, body.source, body.tasks)
    return TaskImportRead(results=[TaskImportResult(task=task, outcome=outcome) for task, outcome in results])


@router.get("/tasks", response_model=TaskListRead, summary="list a user's tasks")
async def list_tasks(
    user_id: UserQuery,
    tasks: TasksDep,
    plan_id: UUID | None = None,
    status_: Annotated[TaskStatus | None, Query(alias="status")] = None,
    external_ref: Annotated[str | None, Query(max_length=300)] = None,
    ids: Annotated[
        list[UUID] | None, Query(max_length=MAX_LIST_IDS, description="Repeatable: only these tasks (of this user).")
    ] = None,
    completed_after: Annotated[IsoDatetime | None, Query(description="Completed at or after this.")] = None,
    completed_before: Annotated[IsoDatetime | None, Query(description="Completed before this.")] = None,
    deadline_after: Annotated[IsoDatetime | None, Query(description="Deadline at or after this.")] = None,
    deadline_before: Annotated[IsoDatetime | None, Query(description="Deadline before this.")] = None,
    updated_after: Annotated[IsoDatetime | None, Query(description="Changed at or after this.")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIST_LIMIT)] = 100,
) -> TaskListRead:
    """Every filter given applies (AND); each window is [after, before), and an empty or reversed one is a
    422. Tasks come in plan order, then imported ones, at most `limit`."""
    check_window(completed_after, completed_before, names=("completed_after", "completed_before"))
    check_window(deadline_after, deadline_before, names=("deadline_after", "deadline_before"))
    filters = TaskFilter(
        plan_id=plan_id, status=status_, external_ref=external_ref, ids=ids, completed_after=completed_after,
        completed_before=completed_before, deadline_after=deadline_after, deadline_before=deadline_before,
        updated_after=updated_after,
    )  # fmt: skip
    return TaskListRead(tasks=await tasks.list_tasks(user_id, filters, limit=limit))


# `:uuid`: GET /v1/tasks/import is a 405 (import takes PUT), not a 422 on a malformed id.
@router.get("/tasks/{task_id:uuid}", response_model=TaskRead, summary="one task", responses=error_responses(404))
async def get_task(task_id: UUID, user_id: UserQuery, tasks: TasksDep) -> TaskRead:
    return await tasks.get(user_id, task_id)


@router.post(
    "/executions",
    response_model=ExecutionRead,
    status_code=status.HTTP_201_CREATED,
    summary="record an execution",
    responses={
        200: {"model": ExecutionRead, "description": "The first run of this idempotency key (a retry)"},
        **error_responses(404),
    },
)
async def record_execution(
    body: ExecutionCreate, executions: ExecutionsDep, response: Response, key: IdempotencyKeyHeader = None
) -> ExecutionRead:
    """A task's or an agent run's execution, running or finished. With a task, its plan, title and
    estimate are the defaults; a finished run's actual minutes default to its wall-clock length. 200
    with the first run when the idempotency key (the body's, or the header; both given must agree) was seen
    before. 404 for a task or plan the user does not have."""
    run, created = await executions.record(with_header_key(body, key))
    if not created:
        response.status_code = status.HTTP_200_OK
    return run


@router.post(
    "/executions/{run_id}/finish",
    response_model=ExecutionRead,
    summary="finish a running execution",
    responses=error_responses(404, 409),
)
async def finish_execution(run_id: UUID, body: ExecutionFinish, executions: ExecutionsDep) -> ExecutionRead:
    """409 when it is already finished; 422 when `finished_at` is before the run's `started_at`."""
    return await executions.finish(run_id, body)


@router.get("/executions", response_model=ExecutionListRead, summary="list executions, newest first")
async def list_executions(
    user_id: UserQuery,
    executions: ExecutionsDep,
    task_id: UUID | None = None,
    plan_id: UUID | None = None,
    since: Annotated[IsoDatetime | None, Query(description="Started at or after this.")] = None,
    until: Annotated[IsoDatetime | None, Query(description="Started before this.")] = None,
    cursor: Annotated[
        str | None,
        Query(
            max_length=200,
            description="A page's `next_cursor`, sent back as it came: opaque (the position of that page's last"
            " run, encoded by this endpoint); any other string is a 422.",
        ),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
) -> ExecutionListRead:
    """Ordered by (started_at, id), newest first. To read a whole window, send each page's `next_cursor` back
    as `cursor` (with the same filters) until it is null: runs that share a started_at are neither lost nor
    repeated. A cursor this endpoint did not return is a 422."""
    check_window(since, until, names=("since", "until"))
    runs, next_cursor = await executions.list_runs(
        user_id, task_id=task_id, plan_id=plan_id, since=since, until=until, limit=limit, cursor=cursor
    )
    return ExecutionListRead(executions=runs, next_cursor=next_cursor)


@router.get("/estimates", response_model=EstimateAccuracy, summary="how the user's estimates hold up")
async def estimate_accuracy(user_id: UserQuery, executions: ExecutionsDep) -> EstimateAccuracy:
    """The figures the offline planner scales estimates by (and the LLM is told about)."""
    profile = build_profile(await executions.history(user_id))
    return EstimateAccuracy(runs=profile.runs, ratio=profile.ratio, by_tag=profile.by_tag)
