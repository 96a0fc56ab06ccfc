"""Runs over HTTP: the planner's hand-over (`POST /v1/schedule`), runs on demand, and a run's view."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Response, status

from pma_core.app.params import IdempotencyKeyHeader, UserQuery, with_header_key
from pma_core.app.schemas import error_responses
from pma_core.contracts.scheduling import RunCreate, RunRead, ScheduleAccepted, ScheduleRequest
from pma_core.errors import NotFoundError
from scheduler_engine.adapters.runs import run_read
from scheduler_engine.deps import BlocksDep, PlannerDep, RunRepositoryDep, RunsDep
from scheduler_engine.domain.intake import from_hand_over, from_run_request

router = APIRouter(prefix="/v1", tags=["runs"])


@router.post(
    "/schedule",
    response_model=ScheduleAccepted,
    status_code=status.HTTP_202_ACCEPTED,
    responses={200: {"model": ScheduleAccepted, "description": "The run this key made"}, **error_responses(409)},
    summary="take a plan's tasks",
)
async def schedule(
    body: ScheduleRequest, runs: RunsDep, response: Response, key: IdempotencyKeyHeader = None
) -> ScheduleAccepted:
    """The planner's hand-over. Answers at once (202) with the run; the solve runs in the background and
    the planner learns the outcome over HTTP. The same idempotency key answers 200 with the first run (409
    when the key comes with another request)."""
    body = with_header_key(body, key)
    run, created = await runs.submit(from_hand_over(body), key=body.idempotency_key)
    if not created:
        response.status_code = status.HTTP_200_OK
    response.headers["Location"] = f"/v1/runs/{run.id}?user_id={run.spec.user_id}"
    return ScheduleAccepted(run_id=run.id, status=run.status)


@router.post(
    "/runs",
    response_model=ScheduleAccepted,
    status_code=status.HTTP_202_ACCEPTED,
    responses={
        200: {"model": ScheduleAccepted, "description": "The run this Idempotency-Key already made"},
        **error_responses(404, 409, 502),
    },
    summary="run on demand",
)
async def create_run(
    body: RunCreate, runs: RunsDep, planner: PlannerDep, response: Response, key: IdempotencyKeyHeader = None
) -> ScheduleAccepted:
    """Schedule a plan's open tasks (read from the planner) or inline `tasks`; with `dry_run` the run is a
    proposal: its blocks are in the run, no block is kept and no calendar touched. Poll `GET /v1/runs/{id}`.
    A `plan_id` the planner does not hold for the user is a 404; the planner failing is a 502 (503 when it
    cannot be reached). The same `Idempotency-Key` answers 200 with the first run (409 with another body)."""
    if body.tasks is not None:
        spec = from_run_request(body, body.tasks)
    else:
        assert body.plan_id is not None
        plan, tasks = await planner.open_tasks(body.user_id, body.plan_id)
        spec = from_run_request(body.model_copy(update={"constraints": body.constraints or plan.constraints}),
                                tasks, plan.revision)  # fmt: skip
    run, created = await runs.submit(spec, key=key)
    if not created:
        response.status_code = status.HTTP_200_OK
    response.headers["Location"] = f"/v1/runs/{run.id}?user_id={body.user_id}"
    return ScheduleAccepted(run_id=run.id, status=run.status)


@router.get(
    "/runs/{run_id}",
    response_model=RunRead,
    responses=error_responses(404),
    summary="a run: status, blocks, tasks, solver figures",
)
async def get_run(run_id: UUID, user_id: UserQuery, repository: RunRepositoryDep, blocks: BlocksDep) -> RunRead:
    """404 for an unknown run or another user's."""
    row = await repository.row(user_id, run_id)
    if row is None:
        raise NotFoundError(f"run {run_id} not found", details={"id": str(run_id)})
    return run_read(row, await blocks.for_run(run_id))
