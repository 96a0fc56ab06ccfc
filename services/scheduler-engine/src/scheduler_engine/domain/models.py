"""The scheduler's domain values: plain dataclasses, free of FastAPI, SQL, OR-Tools and HTTP.

Every moment is a timezone-aware datetime in UTC; the user's time zone matters only where local rules
(working hours, days off, the lunch window, the daily focus cap) are turned into UTC intervals
(domain/calendar_time.py). The solver works on a grid of `SLOT_MINUTES`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Literal
from uuid import UUID

SLOT_MINUTES = 15
Priority = Literal["low", "normal", "high", "urgent"]
# Weight of a task's priority in the objective (tardiness and earliness are multiplied by it).
PRIORITY_WEIGHT: dict[str, int] = {"low": 1, "normal": 2, "high": 4, "urgent": 8}
RiskStatus = Literal["on_track", "at_risk", "late"]
SolverStatus = Literal["optimal", "feasible", "greedy", "empty"]
UnscheduledReason = Literal[
    "no_capacity_before_deadline",  # not enough free time between its earliest start and its deadline
    "blocked_by_dependency",  # a task it depends on could not be scheduled
    "longer_than_any_window",  # not splittable, and no free window is as long as it
    "no_capacity_in_window",  # no free time at all left in the scheduling window
]


@dataclass(frozen=True, slots=True)
class Interval:
    """[start, end) in UTC."""

    start: datetime
    end: datetime

    @property
    def minutes(self) -> int:
        return int((self.end - self.start).total_seconds() // 60)


@dataclass(frozen=True, slots=True)
class LocalWindow:
    """A daily window in the user's local time, [start, end)."""

    start: time
    end: time


@dataclass(frozen=True, slots=True)
class Profile:
    """How a user wants to be scheduled; every local rule is in `time_zone` (IANA)."""

    user_id: str
    time_zone: str = "UTC"
    # weekday (0 = Monday) -> working windows that day; a weekday missing is not a working day.
    working_hours: dict[int, tuple[LocalWindow, ...]] = field(
        default_factory=lambda: {day: (LocalWindow(time(9), time(17)),) for day in range(5)}
    )
    days_off: frozenset[date] = frozenset()
    buffer_minutes: int = 0
    min_chunk_minutes: int = 30
    max_chunk_minutes: int = 120
    daily_focus_cap_minutes: int = 360
    # Kept free every working day (a hard constraint); None for no lunch window.
    lunch: LocalWindow | None = LocalWindow(time(12), time(13))
    # Windows never used for focus blocks, e.g. "no deep work before 10" = LocalWindow(00:00, 10:00).
    protected: tuple[LocalWindow, ...] = ()
    # Blocks that start within this many hours from now are fixed, not merely penalised when moved.
    freeze_hours: float = 20.0
    # Calendars whose events count as busy time (Google calendar ids; "primary" by default).
    busy_calendars: tuple[str, ...] = ("primary",)


@dataclass(frozen=True, slots=True)
class TaskToPlace:
    """A task with the minutes still to schedule (its estimate less the work already done)."""

    id: UUID
    title: str
    minutes: int
    priority: Priority = "normal"
    earliest_start: datetime | None = None
    deadline: datetime | None = None
    # A hard deadline may not be missed: a task that cannot finish by it is unscheduled instead of late.
    hard_deadline: bool = False
    depends_on: tuple[UUID, ...] = ()
    splittable: bool = False
    min_chunk_minutes: int | None = None


@dataclass(frozen=True, slots=True)
class ExistingBlock:
    """A block of an earlier run, as the next run sees it.

    `fixed` blocks (inside the freeze horizon, or pinned because the user moved them on the calendar)
    stay exactly where they are and count towards their task's minutes; the others are hints whose
    moves the objective penalises.
    """

    block_id: UUID
    task_id: UUID
    start: datetime
    end: datetime
    fixed: bool = False


@dataclass(frozen=True, slots=True)
class Problem:
    """One scheduling problem, all in UTC on the slot grid.

    `free` is the working time less busy time, lunch, protected windows and days off (sorted, disjoint);
    `days` are the user's local days as UTC intervals, each with its focus cap in minutes.
    `fixed` blocks already occupy their time (they are not in `free`) and count towards their task.
    """

    now: datetime
    window: Interval
    tasks: tuple[TaskToPlace, ...]
    free: tuple[Interval, ...]
    days: tuple[tuple[Interval, int], ...]
    buffer_minutes: int = 0
    min_chunk_minutes: int = 30
    max_chunk_minutes: int = 120
    fixed: tuple[ExistingBlock, ...] = ()
    previous: tuple[ExistingBlock, ...] = ()


@dataclass(frozen=True, slots=True)
class PlacedBlock:
    task_id: UUID
    start: datetime
    end: datetime


@dataclass(frozen=True, slots=True)
class TaskOutcome:
    """How a task fares: its expected finish (None when unscheduled) and its risk against the deadline."""

    task_id: UUID
    status: RiskStatus
    expected_finish: datetime | None
    unscheduled_reason: UnscheduledReason | None = None


@dataclass(frozen=True, slots=True)
class Solution:
    blocks: tuple[PlacedBlock, ...]
    outcomes: tuple[TaskOutcome, ...]
    status: SolverStatus
    objective: float | None = None
    bound: float | None = None
    solve_seconds: float = 0.0
    # Previous (non-fixed) blocks whose task now has a block at another time.
    moved: int = 0


@dataclass(frozen=True, slots=True)
class CalendarBlock:
    """A block as a calendar shows it: `sequence` grows with every move (ICS SEQUENCE, Google's event)."""

    block_id: UUID
    task_id: UUID
    title: str
    start: datetime
    end: datetime
    sequence: int = 0
    description: str = ""


@dataclass(frozen=True, slots=True)
class SyncResult:
    created: int = 0
    updated: int = 0
    deleted: int = 0
    unchanged: int = 0


ChangeKind = Literal["moved", "deleted", "done"]


@dataclass(frozen=True, slots=True)
class CalendarChange:
    """Something the user did to one of our blocks on their calendar."""

    block_id: UUID
    kind: ChangeKind
    start: datetime | None = None  # the new times of a moved block
    end: datetime | None = None


@dataclass(frozen=True, slots=True)
class ChangeBatch:
    changes: tuple[CalendarChange, ...]
    # Where the next incremental read starts (Google's nextSyncToken); None when the backend keeps none.
    cursor: str | None
    # True when the cursor was stale (Google answered 410) and everything was read again.
    full_resync: bool = False


BlockStatus = Literal["planned", "done", "deleted", "replaced"]


@dataclass(frozen=True, slots=True)
class StoredBlock:
    block_id: UUID
    run_id: UUID
    task_id: UUID
    plan_id: UUID | None
    title: str
    start: datetime
    end: datetime
    status: BlockStatus = "planned"
    pinned: bool = False
    sequence: int = 0

    @property
    def interval(self) -> Interval:
        return Interval(self.start, self.end)
