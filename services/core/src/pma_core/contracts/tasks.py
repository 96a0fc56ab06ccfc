"""The planner's task contract: tasks as a planner proposes them, as stored, and as imported from outside.

A task is the unit the scheduler places on the calendar: an estimate, a priority, a window (earliest
start, deadline), dependencies on other tasks, and whether it may be split into chunks of a minimum size.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from pma_core.contracts.common import IsoDatetime, Metadata, RequestModel, ShortText, UserId

# One working week: a longer task is a project, and should be split into tasks.
MAX_ESTIMATE_MINUTES = 2_400
MAX_TASKS = 100
MAX_TAGS = 20
MAX_IMPORT = 100
# GET /v1/tasks: at most this many `ids` per call (the client chunks longer lists), and this many tasks.
MAX_LIST_IDS = 500
MAX_LIST_LIMIT = 1_000

Priority = Literal["low", "normal", "high", "urgent"]
TaskStatus = Literal["todo", "scheduled", "in_progress", "done", "cancelled"]
TaskKey = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]
Tag = Annotated[str, StringConstraints(strip_whitespace=True, to_lower=True, min_length=1, max_length=50)]
Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Description = Annotated[str, StringConstraints(strip_whitespace=True, max_length=4_000)]
ExternalRef = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
Estimate = Annotated[int, Field(gt=0, le=MAX_ESTIMATE_MINUTES, description="Minutes, 1..2400.")]


class _Strict(RequestModel):
    """A request body of this module (unknown fields refused, scalars as JSON typed them)."""


class _Window(_Strict):
    """When both are given, `earliest_start` is before `deadline`; `min_chunk_minutes` is at most
    `estimate_minutes` (each a 422 otherwise)."""

    estimate_minutes: Estimate
    earliest_start: IsoDatetime | None = Field(default=None, description="Not to be started before this.")
    deadline: IsoDatetime | None = Field(
        default=None, description="To be finished by this; after earliest_start when both are given."
    )
    splittable: bool = Field(default=False, description="May be scheduled in several chunks.")
    min_chunk_minutes: int | None = Field(
        default=None,
        gt=0,
        le=MAX_ESTIMATE_MINUTES,
        description="Smallest chunk when splittable; at most estimate_minutes.",
    )

    @model_validator(mode="after")
    def _consistent_window(self) -> _Window:
        if self.earliest_start and self.deadline and self.earliest_start >= self.deadline:
            raise ValueError("earliest_start must be before deadline")
        if self.min_chunk_minutes is not None and self.min_chunk_minutes > self.estimate_minutes:
            raise ValueError("min_chunk_minutes cannot exceed estimate_minutes")
        return self


class TaskSpec(_Window):
    """A task as a planner proposes it: `key` names it within the plan and `depends_on` lists keys."""

    key: TaskKey = Field(description="Unique within the plan, e.g. 't1'; dependencies refer to it.")
    title: Title
    description: Description = ""
    priority: Priority = "normal"
    depends_on: list[TaskKey] = Field(default_factory=list, max_length=MAX_TASKS)
    tags: list[Tag] = Field(default_factory=list, max_length=MAX_TAGS)
    step: int | None = Field(default=None, ge=1, description="The SOP step (1-based) this task carries out.")


class PlannedBlock(BaseModel):
    # The scheduler sends these to the planner (POST /v1/plans/{plan_id}/schedule-result), which stores them
    # as they came: no field beyond these, and moments as ISO 8601 only (`0` is not 1970).
    model_config = ConfigDict(extra="forbid")

    block_id: UUID
    start: IsoDatetime
    end: IsoDatetime


class TaskSchedule(BaseModel):
    """Where the scheduler put a task in its last run, and how it fares against its deadline."""

    # Part of the scheduler's report to the planner, stored as it came (see PlannedBlock).
    model_config = ConfigDict(extra="forbid")

    status: Literal["on_track", "at_risk", "late", "unscheduled"]
    expected_finish: IsoDatetime | None
    reason: str | None = Field(description="Why it is unscheduled, in words; None when it is scheduled.")
    blocks: list[PlannedBlock]


class TaskRead(BaseModel):
    id: UUID
    user_id: str
    plan_id: UUID | None
    key: str | None = Field(description="The task's key within its plan; None for an imported task.")
    position: int
    title: str
    description: str
    estimate_minutes: int
    priority: Priority
    earliest_start: datetime | None
    deadline: datetime | None
    depends_on: list[UUID] = Field(description="Ids of the tasks that must be done first.")
    splittable: bool
    min_chunk_minutes: int | None
    tags: list[str]
    step: int | None
    status: TaskStatus
    source: str = Field(description="'planner', or where an imported task came from (e.g. 'coda').")
    external_ref: str | None
    metadata: dict[str, object]
    schedule: TaskSchedule | None = Field(
        default=None, description="The scheduler's last word on this task (None until a run placed it)."
    )
    created_at: datetime
    updated_at: datetime
    completed_at: datetime | None = Field(
        default=None,
        description="When the status became 'done' (kept while it stays done); None for a task not done.",
    )


class TaskImportItem(_Window):
    """One task from outside (a Coda row through n8n): `external_ref` is its identity there."""

    external_ref: ExternalRef
    title: Title
    description: Description = ""
    priority: Priority = "normal"
    tags: list[Tag] = Field(default_factory=list, max_length=MAX_TAGS)
    status: TaskStatus = "todo"
    plan_id: UUID | None = Field(default=None, description="Attach it to one of the user's plans.")
    metadata: Metadata = Field(default_factory=dict)


class TaskImport(_Strict):
    """Up to 100 tasks upserted by `(user_id, external_ref)` in one transaction; each `external_ref` may
    appear once per import (a 422 otherwise)."""

    user_id: UserId
    source: ShortText = Field(default="import", min_length=1, description="Where the rows come from.")
    tasks: list[TaskImportItem] = Field(min_length=1, max_length=MAX_IMPORT)

    @model_validator(mode="after")
    def _distinct_refs(self) -> TaskImport:
        refs = [task.external_ref for task in self.tasks]
        if len(set(refs)) != len(refs):
            raise ValueError("each external_ref may appear once per import")
        return self


ImportOutcome = Literal["created", "updated", "unchanged"]


class TaskImportResult(BaseModel):
    task: TaskRead
    outcome: ImportOutcome


class TaskImportRead(BaseModel):
    results: list[TaskImportResult]


class TaskListRead(BaseModel):
    tasks: list[TaskRead]
