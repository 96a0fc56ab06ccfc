"""The planner's plan contract: create a plan from an intent, read it, move it through its lifecycle.

Lifecycle: draft -> accepted -> scheduled -> in_progress -> done, and cancelled from any state that is
not final. `PLAN_TRANSITIONS` is the one table both the service and its clients read.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import AfterValidator, BaseModel, Field, StringConstraints

from pma_core.contracts.common import CLOCK_SKEW, IdempotencyKey, IsoDatetime, Metadata, RequestModel, UserId
from pma_core.contracts.library import Sop, SopRef
from pma_core.contracts.tasks import TaskRead

MAX_INTENT_CHARS = 2_000
MAX_CONTEXT_CHARS = 8_000
MAX_FEEDBACK_CHARS = 4_000

PlanStatus = Literal["draft", "accepted", "scheduled", "in_progress", "done", "cancelled"]
PlannerKind = Literal["llm", "offline", "imported"]
PlannerChoice = Literal["auto", "llm", "offline"]
SchedulingState = Literal["not_requested", "pending", "requested"]

PLAN_TRANSITIONS: dict[str, frozenset[str]] = {
    "draft": frozenset({"accepted", "cancelled"}),
    "accepted": frozenset({"scheduled", "in_progress", "cancelled"}),
    "scheduled": frozenset({"in_progress", "cancelled"}),
    "in_progress": frozenset({"done", "cancelled"}),
    "done": frozenset(),
    "cancelled": frozenset(),
}


def _due_not_past(value: datetime) -> datetime:
    if value < datetime.now(UTC) - CLOCK_SKEW:
        raise ValueError("due_at is in the past: a plan is made for work still ahead")
    return value


Intent = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_INTENT_CHARS)]
Context = Annotated[str, StringConstraints(strip_whitespace=True, max_length=MAX_CONTEXT_CHARS)]
Feedback = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_FEEDBACK_CHARS)]
DueAt = Annotated[IsoDatetime, AfterValidator(_due_not_past)]


class _Strict(RequestModel):
    """A request body of this module (unknown fields refused, scalars as JSON typed them)."""


class PlanCreate(_Strict):
    user_id: UserId
    intent: Intent = Field(description=f"What the user wants done, 1..{MAX_INTENT_CHARS} characters.")
    context: Context = Field(default="", description="Anything the planner should know beyond memory.")
    due_at: DueAt | None = Field(
        default=None, description="When it must be done; never in the past (beyond 5 minutes of skew)."
    )
    constraints: Metadata = Field(
        default_factory=dict, description="Free-form constraints passed to the planner and scheduler."
    )
    planner: PlannerChoice = Field(
        default="auto", description="auto: the LLM when a key is set, else offline; llm: fail without a key."
    )
    sop_id: UUID | None = Field(default=None, description="Base the plan on this SOP instead of searching.")
    idempotency_key: IdempotencyKey | None = Field(default=None, description="A retry returns the first plan.")


class PlanAccept(_Strict):
    user_id: UserId
    schedule: bool = Field(default=False, description="Hand the tasks to the scheduler-engine now.")


class PlanStatusUpdate(_Strict):
    user_id: UserId
    status: PlanStatus


class PlanReplan(_Strict):
    user_id: UserId
    feedback: Feedback = Field(
        description="What to change. With an LLM key, free text. Offline, directives separated by `;` or new"
        " lines: `add <title> [(N min)]`, `remove <task>`, `<task>: N min`, `<task> takes N h`, `make <task>"
        " urgent|high|normal|low`, where <task> is a key of this plan (t2) or a part of one task's title;"
        " anything else, an unknown task, or removing every task is a 422 naming the directive."
    )


class PlanUserRequest(_Strict):
    user_id: UserId


class Usage(BaseModel):
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    cost_usd: float | None = None


class TemplateRef(BaseModel):
    name: str
    version: int


class Recalled(BaseModel):
    """A memory the planner recalled and gave weight to."""

    kind: str
    text: str
    score: float


class ScheduleOutcome(BaseModel):
    """The last finished scheduler run of the plan, as the scheduler reported it."""

    run_id: UUID
    status: str = Field(description="succeeded (every open task placed) or partial (some did not fit: see tasks).")
    scheduled_tasks: int
    unscheduled_tasks: int
    late_tasks: int
    at_risk_tasks: int
    finished_at: datetime
    reported_at: datetime


class Scheduling(BaseModel):
    state: SchedulingState = Field(
        description="not_requested; pending (asked for but the scheduler was not reached yet); requested."
    )
    run_id: UUID | None = None
    attempts: int = 0
    last_error: str | None = None
    requested_at: datetime | None = None
    outcome: ScheduleOutcome | None = Field(default=None, description="None until a run of the plan finished.")


class PlanRead(BaseModel):
    id: UUID
    user_id: str
    intent: str
    status: PlanStatus
    revision: int = Field(description="1 when created; +1 per replan.")
    sop: Sop
    based_on: SopRef | None = Field(description="The saved SOP version the plan adapted, if any.")
    tasks: list[TaskRead]
    context: str
    constraints: dict[str, object]
    due_at: datetime | None
    planner: PlannerKind
    planned_offline: bool
    model: str | None
    prompt_template: TemplateRef | None
    usage: Usage
    trace_id: str | None
    recalled: list[Recalled]
    warnings: list[str] = Field(description="What degraded, e.g. memory unavailable, so nothing fails silently.")
    estimate_notes: list[str] = Field(
        default_factory=list, description="Why estimates differ from the base: insights and history applied."
    )
    scheduling: Scheduling
    created_at: datetime
    updated_at: datetime


class PlanListRead(BaseModel):
    plans: list[PlanRead]
