"""Plans over HTTP: create from an intent, read, list, accept, move, replan, and complete a scheduling."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Response, status

from planner_engine.deps import AcceptanceDep, PlannerDep, PlansDep
from pma_core.app.params import IdempotencyKeyHeader, UserQuery, check_window, with_header_key
from pma_core.app.schemas import error_responses
from pma_core.contracts.common import IsoDatetime
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

router = APIRouter(prefix="/v1", tags=["plans"])


@router.post(
    "/plans",
    response_model=PlanRead,
    status_code=status.HTTP_201_CREATED,
    summary="plan an intent",
    responses={
        200: {"model": PlanRead, "description": "The first plan of this idempotency key (a retry)"},
        **error_responses(404, 502),
    },
)
async def create_plan(
    body: PlanCreate, planner: PlannerDep, response: Response, key: IdempotencyKeyHeader = None
) -> PlanRead:
    """Recall context from memory, match the SOP library, plan (LLM, or offline without a key), store the
    draft. 201 with the new plan; 200 with the first plan when its idempotency key (the body's, or the
    `Idempotency-Key` header; both given must agree) was seen before. 404 for an unknown `sop_id`; 502 when
    the LLM failed (or its output stayed invalid)."""
    plan, created = await planner.create(with_header_key(body, key))
    if not created:
        response.status_code = status.HTTP_200_OK
    return plan


@router.get("/plans", response_model=PlanListRead, summary="list a user's plans, newest first")
async def list_plans(
    user_id: UserQuery,
    plans: PlansDep,
    status_: Annotated[PlanStatus | None, Query(alias="status")] = None,
    created_after: Annotated[IsoDatetime | None, Query(description="Created at or after this.")] = None,
    created_before: Annotated[IsoDatetime | None, Query(description="Created before this.")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
) -> PlanListRead:
    """The window is [created_after, created_before); an empty or reversed one is a 422."""
    check_window(created_after, created_before, names=("created_after", "created_before"))
    found = await plans.list_plans(
        user_id, status=status_, limit=limit, created_after=created_after, created_before=created_before
    )
    return PlanListRead(plans=found)


@router.get(
    "/plans/{plan_id}", response_model=PlanRead, summary="one plan with its tasks", responses=error_responses(404)
)
async def get_plan(plan_id: UUID, user_id: UserQuery, plans: PlansDep) -> PlanRead:
    return await plans.get(user_id, plan_id)


@router.post(
    "/plans/{plan_id}/accept",
    response_model=PlanRead,
    summary="accept a draft (and schedule it)",
    responses=error_responses(404, 409),
)
async def accept_plan(plan_id: UUID, body: PlanAccept, acceptance: AcceptanceDep) -> PlanRead:
    """draft -> accepted; the SOP is saved to the library. With `schedule`, the tasks go to the
    scheduler-engine: `scheduling.state` is `requested` when it took them (status `scheduled`), or
    `pending` with `last_error` when it could not be reached; then POST .../schedule (or the background
    retry) completes it. 409 when the plan is not a draft."""
    return await acceptance.accept(body.user_id, plan_id, schedule=body.schedule)


@router.post(
    "/plans/{plan_id}/status",
    response_model=PlanRead,
    summary="move a plan through its lifecycle",
    responses=error_responses(404, 409),
)
async def set_plan_status(plan_id: UUID, body: PlanStatusUpdate, acceptance: AcceptanceDep) -> PlanRead:
    """draft -> accepted -> scheduled -> in_progress -> done, or cancelled; anything else is a 409 naming
    the moves allowed from the current status."""
    return await acceptance.set_status(body.user_id, plan_id, body.status)


@router.post(
    "/plans/{plan_id}/schedule",
    response_model=PlanRead,
    summary="complete (or redo) the hand-over",
    responses=error_responses(404, 409),
)
async def schedule_plan(plan_id: UUID, body: PlanUserRequest, acceptance: AcceptanceDep) -> PlanRead:
    """Hand an accepted or scheduled plan to the scheduler-engine; safe to repeat (the scheduler sees the
    same idempotency key for the same plan revision). 409 when the plan is neither accepted nor scheduled."""
    return await acceptance.schedule(body.user_id, plan_id)


@router.post(
    "/plans/{plan_id}/schedule-result",
    response_model=PlanRead,
    summary="the scheduler reports a finished run",
    responses=error_responses(404, 409),
)
async def record_schedule_result(plan_id: UUID, body: ScheduleResult, acceptance: AcceptanceDep) -> PlanRead:
    """Called by the scheduler-engine when a run of the plan finished: each task shows its planned blocks
    and its risk (`tasks[].schedule`), the plan its outcome (`scheduling.outcome`); a task that did not fit
    goes back to `todo` with the reason. Idempotent: the same report again changes nothing, and a report of
    an older run than the one recorded is ignored. 409 `stale_revision` for a run of another revision; 422
    for a task that is not the plan's."""
    return await acceptance.record_schedule(plan_id, body)


@router.post(
    "/plans/{plan_id}/replan",
    response_model=PlanRead,
    summary="revise a plan from feedback",
    responses=error_responses(404, 409, 502),
)
async def replan(plan_id: UUID, body: PlanReplan, planner: PlannerDep) -> PlanRead:
    """The revised plan (revision + 1); tasks that survive keep their ids. Offline, the feedback is a list
    of directives (docs/planner.md); an unknown one is a 422 that names it. 409 for a done or cancelled plan;
    502 when the LLM failed."""
    return await planner.replan(body.user_id, plan_id, body.feedback)
