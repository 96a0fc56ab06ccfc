"""What the scheduling domain needs from the outside, as small protocols the adapters satisfy."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from uuid import UUID

from pma_core.contracts.scheduling import RunStatus, ScheduleResult
from scheduler_engine.domain.blocks import BlockPlan
from scheduler_engine.domain.intake import RunSpec
from scheduler_engine.domain.models import (
    CalendarBlock,
    ChangeBatch,
    Interval,
    Profile,
    Solution,
    StoredBlock,
    SyncResult,
)
from scheduler_engine.domain.outcomes import TaskReport


class CalendarBackend(Protocol):
    """A user's calendar: where busy time comes from and where blocks are written.

    Writes are idempotent: `sync` makes the calendar hold exactly `blocks` among the events this system
    created in `window` (creating, patching or deleting only those), so a rerun after a crash duplicates
    nothing. It never touches an event it did not create.
    """

    async def busy(self, user_id: str, window: Interval, calendars: Sequence[str]) -> list[Interval]:
        """Busy time in `window`: the user's events, less transparent ones and less our own blocks."""
        ...

    async def sync(self, user_id: str, blocks: Sequence[CalendarBlock], window: Interval) -> SyncResult: ...

    async def changes(self, user_id: str, cursor: str | None) -> ChangeBatch:
        """What the user did to our blocks since `cursor` (None: read everything once to get a cursor)."""
        ...


@dataclass(frozen=True)
class RunRecord:
    """A scheduler_runs row as the domain reads it."""

    id: UUID
    spec: RunSpec
    input_hash: str | None
    status: RunStatus
    created_at: datetime
    finished_at: datetime | None = None
    tasks: tuple[TaskReport, ...] = ()


@dataclass(frozen=True)
class RunResult:
    """What a finished solve leaves on its run."""

    status: RunStatus
    window: Interval
    solution: Solution
    tasks: list[TaskReport]


class RunStore(Protocol):
    async def create(self, spec: RunSpec, *, key: str | None, input_hash: str) -> tuple[RunRecord, bool]:
        """Insert the run, or return the user's run with the same key (False)."""
        ...

    async def get(self, user_id: str | None, run_id: UUID) -> RunRecord | None:
        """The run (of this user; None for any user: the service's own sweeps)."""
        ...

    async def claim(self, run_id: UUID, *, lease_seconds: float, claimant: UUID) -> RunRecord | None:
        """Take the run and mark it running; None when it finished or another worker holds it (`claimant`,
        the worker's name, takes its own claim back)."""
        ...

    async def claim_next(self, user_id: str, *, lease_seconds: float, claimant: UUID) -> RunRecord | None:
        """Take the user's oldest unfinished run that places blocks; None when there is none, or when
        another worker holds it (that worker goes on with the user's next one)."""
        ...

    async def renew(self, run_id: UUID, *, lease_seconds: float) -> None: ...

    async def finish(self, run_id: UUID, result: RunResult) -> None: ...
    async def fail(self, run_id: UUID, error: str) -> None: ...
    async def calendar_synced(self, run_id: UUID, *, error: str | None) -> None: ...
    async def claim_report(self, run_id: UUID, *, lease_seconds: float) -> bool:
        """Take the run's report to send it; False when it was sent or another sender holds it."""
        ...

    async def release_report(self, run_id: UUID) -> None:
        """Give the claim back after a report the planner did not take, so the next sweep retries it."""
        ...

    async def reported(self, run_id: UUID) -> None: ...
    async def unfinished(self, *, older_than: datetime, limit: int) -> list[UUID]: ...
    async def unreported(self, *, limit: int) -> list[UUID]: ...


class BlockStore(Protocol):
    async def settle_past(self, user_id: str, now: datetime) -> dict[UUID, int]:
        """Mark planned blocks whose time is over as done (recording a `done` change each); the minutes
        done per task, all runs together."""
        ...

    async def done_minutes(self, user_id: str, now: datetime) -> dict[UUID, int]:
        """The same minutes, changing nothing (a dry run)."""
        ...

    async def active(self, user_id: str, window: Interval) -> list[StoredBlock]:
        """The user's planned blocks that end after the window starts and start before it ends."""
        ...

    async def apply(self, run_id: UUID, spec: RunSpec, titles: dict[UUID, str], plan: BlockPlan) -> None:
        """Write the run's blocks (moved in place, new, replaced), in one transaction."""
        ...

    async def for_run(self, run_id: UUID) -> list[StoredBlock]: ...

    async def deleted_by_user(self, user_id: str, task_ids: Sequence[UUID], *, restore: bool) -> set[UUID]:
        """The tasks whose block the user deleted on their calendar; with `restore`, forget those deletions
        (the tasks are placed again) and answer none."""
        ...

    async def calendar_view(self, user_id: str, window: Interval) -> list[CalendarBlock]:
        """The user's planned blocks in `window`, as calendars show them."""
        ...


class ProfileStore(Protocol):
    async def get(self, user_id: str) -> Profile:
        """The user's profile, or the defaults."""
        ...


class PlanReporter(Protocol):
    async def report(self, plan_id: UUID, result: ScheduleResult) -> bool:
        """Tell the planner; False when it could not be reached (the sweep tries again)."""
        ...
