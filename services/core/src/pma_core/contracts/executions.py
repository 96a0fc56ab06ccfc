"""The planner's execution log: what actually happened when a task or an agent run executed.

Runs feed the offline planner's estimates (how long this user's tasks really take against their
estimates) and the observer's reflections.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, model_validator

from pma_core.contracts.common import CLOCK_SKEW, IdempotencyKey, IsoDatetime, Metadata, RequestModel, UserId
from pma_core.contracts.tasks import MAX_ESTIMATE_MINUTES

RunKind = Literal["task", "agent", "coding", "other"]
RunStatus = Literal["running", "succeeded", "failed", "abandoned"]
FINISHED: frozenset[str] = frozenset({"succeeded", "failed", "abandoned"})
MAX_LIMIT = 200

Notes = Annotated[str, StringConstraints(strip_whitespace=True, max_length=8_000)]
Subject = Annotated[str, StringConstraints(strip_whitespace=True, max_length=1_000)]
Minutes = Annotated[int, Field(ge=0, le=7 * 24 * 60)]


def _not_future(value: datetime) -> datetime:
    if value > datetime.now(UTC) + CLOCK_SKEW:
        raise ValueError("is in the future: executions record what happened")
    return value


Moment = Annotated[IsoDatetime, AfterValidator(_not_future)]


class _Strict(RequestModel):
    """A request body of this module (unknown fields refused, scalars as JSON typed them)."""


class _Finish(_Strict):
    finished_at: Moment | None = Field(default=None, description="Not in the future (beyond 5 minutes of skew).")
    actual_minutes: Minutes | None = Field(default=None, description="Default: finished_at - started_at.")
    outcome: Subject = ""
    notes: Notes = ""


# "A running execution has no finished_at or actual_minutes yet", as JSON Schema says it: a finished status
# given, or neither field given (null is as good as absent). `status` defaults to running, so a body without
# it is running. The model validator below makes the same check for Python callers.
_RUNNING_IS_UNFINISHED: dict[str, Any] = {
    "anyOf": [
        {"required": ["status"], "properties": {"status": {"enum": sorted(FINISHED)}}},
        {"properties": {"finished_at": {"type": "null"}, "actual_minutes": {"type": "null"}}},
    ]
}


class ExecutionCreate(_Finish):
    """A run as it is or was: a running one has no `finished_at` or `actual_minutes` yet; `finished_at`, when
    given with `started_at`, is not before it; neither moment is in the future (each a 422 otherwise)."""

    model_config = ConfigDict(json_schema_extra=_RUNNING_IS_UNFINISHED)

    user_id: UserId
    run_kind: RunKind = "task"
    task_id: UUID | None = Field(default=None, description="One of the user's tasks; its estimate is taken.")
    plan_id: UUID | None = Field(default=None, description="Default: the task's plan.")
    subject: Subject = Field(default="", description="What ran; default: the task's title.")
    status: RunStatus = "running"
    started_at: Moment | None = Field(
        default=None,
        description="Not in the future (beyond 5 minutes of skew). Default: now, or finished_at when that is"
        " earlier (a run never ends before it starts).",
    )
    estimated_minutes: int | None = Field(default=None, gt=0, le=MAX_ESTIMATE_MINUTES)
    metadata: Metadata = Field(default_factory=dict)
    idempotency_key: IdempotencyKey | None = Field(default=None, description="A retry returns the first run.")

    @model_validator(mode="after")
    def _consistent(self) -> ExecutionCreate:
        if self.status == "running" and (self.finished_at is not None or self.actual_minutes is not None):
            raise ValueError("a running execution has no finished_at or actual_minutes yet")
        if self.started_at and self.finished_at and self.finished_at < self.started_at:
            raise ValueError("finished_at is before started_at")
        return self


class ExecutionFinish(_Finish):
    """Finish a running execution: `finished_at`, when given, is not before the run's `started_at` (a 422
    otherwise); left out, it is now (or the run's started_at, when that is later)."""

    user_id: UserId
    status: Literal["succeeded", "failed", "abandoned"]


class ExecutionRead(BaseModel):
    id: UUID
    user_id: str
    run_kind: RunKind
    task_id: UUID | None
    plan_id: UUID | None
    subject: str
    status: RunStatus
    started_at: datetime
    finished_at: datetime | None
    estimated_minutes: int | None
    actual_minutes: int | None
    outcome: str
    notes: str
    metadata: dict[str, object]
    idempotency_key: str | None
    created_at: datetime


class ExecutionListRead(BaseModel):
    executions: list[ExecutionRead]
    next_cursor: str | None = Field(
        default=None,
        description="Opaque (the position of this page's last run, encoded): send it back as `cursor` for the"
        " next (older) page; None on the last page.",
    )


class EstimateAccuracy(BaseModel):
    """How the user's actual minutes compare with their estimates (ratio actual / estimated)."""

    runs: int = Field(description="Finished runs with both an estimate and an actual duration.")
    ratio: float | None = Field(description="Median actual / estimated; None without runs. 1.3 = 30% over.")
    by_tag: dict[str, float] = Field(description="The same median per task tag with at least 3 runs.")
