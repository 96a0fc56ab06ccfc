"""The scheduler-engine's intake contract: the planner hands over a plan's tasks to be placed.

The planner sends this when a plan is accepted with `schedule=true`; the scheduler-engine serves it
(`POST /v1/schedule`). The same `idempotency_key` (plan id and revision) makes a retried hand-over,
after a timeout or while the scheduler was down, place the tasks once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from pma_core.contracts.common import IdempotencyKey, IsoDate, IsoDatetime, RequestModel, UserId
from pma_core.contracts.tasks import MAX_ESTIMATE_MINUTES, MAX_TASKS, Priority, TaskSchedule

# A task to place has the same bounds whichever door it comes in by (the hand-over's SchedulableTask or
# `POST /v1/runs`'s RunTask): a hand-over its schema admits is then always a task a run can take.
TaskTitle = Annotated[str, Field(min_length=1, max_length=200)]
TaskMinutes = Annotated[int, Field(gt=0, le=MAX_ESTIMATE_MINUTES, description="Minutes, 1..2400.")]
# Postgres int4 (scheduler_runs.plan_revision).
MAX_REVISION = 2_147_483_647


class SchedulableTask(RequestModel):
    """A task of the hand-over, as the planner holds it: when both are given, `deadline` must be after
    `earliest_start`."""

    id: UUID
    title: TaskTitle
    estimate_minutes: TaskMinutes
    priority: Priority
    earliest_start: IsoDatetime | None
    deadline: IsoDatetime | None
    depends_on: list[UUID] = Field(max_length=MAX_TASKS, description="Ids of other tasks of the same hand-over.")
    splittable: bool
    min_chunk_minutes: TaskMinutes | None
    tags: list[str]


class ScheduleRequest(RequestModel):
    """The planner's hand-over of a plan's open tasks. Each task id appears once; `depends_on` names tasks
    of the same request and forms no cycle; the `Idempotency-Key` header, when given, equals
    `idempotency_key`."""

    user_id: UserId
    plan_id: UUID
    plan_revision: int = Field(ge=1, le=MAX_REVISION)
    tasks: list[SchedulableTask] = Field(min_length=1, max_length=MAX_TASKS)
    due_at: IsoDatetime | None
    constraints: dict[str, Any]
    idempotency_key: IdempotencyKey


class ScheduleAccepted(BaseModel):
    """The scheduler took the request: `run_id` is its scheduler_runs row."""

    run_id: UUID
    status: str


# ---------------------------------------------------------------------------------------------------
# Profiles, runs, blocks and changes: the scheduler-engine's own API (docs/scheduler.md).
# ---------------------------------------------------------------------------------------------------

MAX_WINDOW_DAYS = 90
MAX_RUN_TASKS = 500
LocalTime = Annotated[str, StringConstraints(pattern=r"^([01]\d|2[0-3]):[0-5]\d$|^24:00$")]
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
RunStatus = Literal["pending", "running", "succeeded", "partial", "failed"]
# An IANA name's characters (e.g. America/Port-au-Prince, Etc/GMT+5); whether the zone exists is the
# time zone database's to say (a 422 naming `body.time_zone` otherwise).
TIME_ZONE_PATTERN = r"^[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+)*$"


class _Strict(RequestModel):
    """A request body of this module (unknown fields refused, scalars as JSON typed them)."""


class TimeWindow(_Strict):
    """A daily window in local time, "HH:MM" to "HH:MM" (24:00 allowed as an end): `end` must be after
    `start`."""

    start: LocalTime
    end: LocalTime

    @model_validator(mode="after")
    def _ends_after_it_starts(self) -> TimeWindow:
        if self.end <= self.start:
            raise ValueError(f"the window ends ({self.end}) before it starts ({self.start})")
        return self


def _default_week() -> dict[Weekday, list[TimeWindow]]:
    return {day: [TimeWindow(start="09:00", end="17:00")] for day in WEEKDAYS[:5]}


class SchedulingProfile(_Strict):
    """How a user wants to be scheduled. Every time is local to `time_zone` (IANA, e.g. Europe/Berlin)."""

    time_zone: str = Field(
        default="UTC",
        max_length=64,
        pattern=TIME_ZONE_PATTERN,
        description="IANA time zone, e.g. Europe/Berlin: one the server's time zone database knows.",
    )
    working_hours: dict[Weekday, list[TimeWindow]] = Field(
        default_factory=_default_week, description="Working windows per weekday; a day left out is not worked."
    )
    days_off: list[IsoDate] = Field(default_factory=list, max_length=366, description="Days off, YYYY-MM-DD.")
    buffer_minutes: int = Field(default=10, ge=0, le=120, description="Kept free between two blocks.")
    min_chunk_minutes: int = Field(default=30, ge=15, le=480, description="At most `max_chunk_minutes`.")
    max_chunk_minutes: int = Field(default=120, ge=15, le=600)
    daily_focus_cap_minutes: int = Field(default=360, ge=15, le=1440, description="Never more blocks a day.")
    lunch: TimeWindow | None = Field(default_factory=lambda: TimeWindow(start="12:00", end="13:00"))
    protected: list[TimeWindow] = Field(
        default_factory=list,
        max_length=20,
        description='Never used for blocks, e.g. {"start": "00:00", "end": "10:00"}.',
    )
    freeze_hours: float = Field(default=20.0, ge=0, le=168, description="Blocks starting this soon stay put.")
    busy_calendars: list[str] = Field(default_factory=lambda: ["primary"], min_length=1, max_length=20)

    @model_validator(mode="after")
    def _chunks_in_order(self) -> SchedulingProfile:
        if self.min_chunk_minutes > self.max_chunk_minutes:
            raise ValueError("min_chunk_minutes cannot exceed max_chunk_minutes")
        return self


class ProfileRead(SchedulingProfile):
    model_config = ConfigDict(extra="ignore")
    user_id: str
    updated_at: datetime | None = Field(description="None while the user has the defaults.")


class RunTask(_Strict):
    """An inline task of `POST /v1/runs` (the same fields the planner hands over): when both are given,
    `deadline` must be after `earliest_start`."""

    id: UUID
    title: TaskTitle
    estimate_minutes: TaskMinutes
    priority: Priority = "normal"
    earliest_start: IsoDatetime | None = None
    deadline: IsoDatetime | None = None
    hard_deadline: bool = False
    depends_on: list[UUID] = Field(
        default_factory=list, max_length=MAX_RUN_TASKS, description="Ids of other tasks of the same run."
    )
    splittable: bool = False
    min_chunk_minutes: TaskMinutes | None = None


# "Exactly one of plan_id and tasks", as JSON Schema says it: one present and not null, the other absent or
# null. The model validator below makes the same check for Python callers.
_ONE_SOURCE: dict[str, Any] = {
    "oneOf": [
        {"required": ["plan_id"], "properties": {"plan_id": {"type": "string"}, "tasks": {"type": "null"}}},
        {"required": ["tasks"], "properties": {"tasks": {"type": "array"}, "plan_id": {"type": "null"}}},
    ]
}


class RunCreate(_Strict):
    """A run on demand: a plan the planner holds (its open tasks) or inline tasks, exactly one of `plan_id`
    and `tasks`; `dry_run` proposes only. Each task id appears once; `depends_on` names tasks of the same
    request and forms no cycle; a plan must be one the planner holds for the user (else 404)."""

    model_config = ConfigDict(json_schema_extra=_ONE_SOURCE)

    user_id: UserId
    plan_id: UUID | None = None
    tasks: list[RunTask] | None = Field(default=None, min_length=1, max_length=MAX_RUN_TASKS)
    dry_run: bool = False
    window_start: IsoDatetime | None = Field(default=None, description="Default: now.")
    window_days: int = Field(default=14, ge=1, le=MAX_WINDOW_DAYS)
    constraints: dict[str, Any] = Field(default_factory=dict)
    restore_deleted: bool = Field(
        default=False, description="Place again the tasks whose block the user deleted on their calendar."
    )

    @model_validator(mode="after")
    def _one_source(self) -> RunCreate:
        if (self.plan_id is None) == (self.tasks is None):
            raise ValueError("give exactly one of plan_id and tasks")
        return self


class BlockRead(BaseModel):
    id: UUID
    task_id: UUID
    title: str
    start: datetime
    end: datetime
    status: Literal["planned", "done", "deleted", "replaced"]
    pinned: bool
    sequence: int


# GET /v1/blocks and GET /v1/busy: a reflection's week or month, never all history.
MAX_BLOCKS_WINDOW_DAYS = 62
MAX_BLOCKS_LIMIT = 2_000
DEFAULT_BLOCKS_LIMIT = 1_000
MAX_BUSY_WINDOW_DAYS = 31
ListedBlockStatus = Literal["planned", "done", "deleted"]


class CalendarBlockRead(BlockRead):
    """A block as `GET /v1/blocks` lists it: with its run, its plan and when it was made and last changed.
    `status` is never `replaced` there (superseded blocks are history)."""

    run_id: UUID = Field(description="The run that last placed it (a later run that kept it takes it over).")
    plan_id: UUID | None = Field(description="None for a run of inline tasks.")
    created_at: datetime
    updated_at: datetime


class BlockListRead(BaseModel):
    blocks: list[CalendarBlockRead]


class BusyInterval(BaseModel):
    start: datetime
    end: datetime


class BusyRead(BaseModel):
    """The user's busy time on their own calendars (meetings and other events, never our blocks)."""

    source: Literal["google", "none"] = Field(
        description="google: read from their Google calendars; none: no Google connection (ICS feed only)."
    )
    available: bool = Field(
        description="False when their calendar could not be read (`error` says why): `intervals` is then"
        " empty for want of an answer, not because they were free. True otherwise (source none included:"
        " there is no calendar to read)."
    )
    intervals: list[BusyInterval] = Field(description="Merged, sorted, clipped to the window.")
    error: str | None = Field(default=None, description="Why Google could not be read, in words.")


class TaskScheduleRead(BaseModel):
    """How one task fares in a run."""

    task_id: UUID
    title: str
    status: Literal["on_track", "at_risk", "late", "unscheduled"]
    expected_finish: datetime | None
    deadline: datetime | None
    scheduled_minutes: int
    reason: str | None = Field(description="Why it is unscheduled (or needs attention), in words.")


class RunRead(BaseModel):
    id: UUID
    user_id: str
    plan_id: UUID | None
    plan_revision: int | None
    status: RunStatus
    dry_run: bool
    window_start: datetime | None
    window_end: datetime | None
    solver_status: str | None = Field(description="optimal, feasible, greedy (the fallback) or empty.")
    objective: float | None
    bound: float | None
    solve_ms: float | None
    moved: int | None = Field(description="Blocks of the previous run placed elsewhere by this one.")
    blocks: list[BlockRead]
    tasks: list[TaskScheduleRead]
    unscheduled: list[TaskScheduleRead]
    calendar_error: str | None
    error: str | None
    created_at: datetime
    finished_at: datetime | None


class ChangeRead(BaseModel):
    id: int
    block_id: UUID
    task_id: UUID
    kind: Literal["moved", "deleted", "done"]
    start: datetime | None
    end: datetime | None
    detected_at: datetime


class ChangeListRead(BaseModel):
    changes: list[ChangeRead]


class ScheduledTask(TaskSchedule):
    task_id: UUID


class ScheduleResult(RequestModel):
    """What the scheduler tells the planner when a run of a plan finished (idempotent by run id)."""

    user_id: UserId
    run_id: UUID
    plan_revision: int | None
    status: RunStatus
    finished_at: IsoDatetime = Field(description="A report of an older run than the one recorded is ignored.")
    tasks: list[ScheduledTask]
