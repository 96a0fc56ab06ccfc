"""The scheduler-engine's intake contract: the planner hands over a plan's tasks to be placed.

The planner sends this when a plan is accepted with `schedule=true`; the scheduler-engine serves it
(`POST /v1/schedule`). The same `idempotency_key` (plan id and revision) makes a retried hand-over,
after a timeout or while the scheduler was down, place the tasks once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from pma_core.contracts.common import IdempotencyKey, UserId
from pma_core.contracts.tasks import MAX_TASKS, Priority


class SchedulableTask(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: UUID
    title: str
    estimate_minutes: int = Field(gt=0)
    priority: Priority
    earliest_start: datetime | None
    deadline: datetime | None
    depends_on: list[UUID]
    splittable: bool
    min_chunk_minutes: int | None
    tags: list[str]


class ScheduleRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    user_id: UserId
    plan_id: UUID
    plan_revision: int = Field(ge=1)
    tasks: list[SchedulableTask] = Field(min_length=1, max_length=MAX_TASKS)
    due_at: datetime | None
    constraints: dict[str, Any]
    idempotency_key: IdempotencyKey


class ScheduleAccepted(BaseModel):
    """The scheduler took the request: `run_id` is its scheduler_runs row."""

    run_id: UUID
    status: str
