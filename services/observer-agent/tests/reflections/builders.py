"""Records as the planner and the scheduler answer them, built tersely for the domain tests."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo

from observer_agent.domain.models import Activity, Span, UserCalendar
from pma_core.contracts.executions import ExecutionRead
from pma_core.contracts.scheduling import BlockRead, CalendarBlockRead, SchedulingProfile
from pma_core.contracts.tasks import TaskRead

USER = "ada"
BERLIN = ZoneInfo("Europe/Berlin")


def at(day: date, hhmm: str, zone: ZoneInfo = BERLIN) -> datetime:
    hours, minutes = (int(p) for p in hhmm.split(":"))
    return datetime(day.year, day.month, day.day, hours, minutes, tzinfo=zone).astimezone(UTC)


def task(
    title: str, *, tags: list[str] | None = None, status: str = "scheduled", completed_at: datetime | None = None,
    deadline: datetime | None = None, estimate: int = 60,
) -> TaskRead:  # fmt: skip
    now = datetime(2026, 11, 1, tzinfo=UTC)
    return TaskRead(
        id=uuid4(), user_id=USER, plan_id=None, key=None, position=0, title=title, description="",
        estimate_minutes=estimate, priority="normal", earliest_start=None, deadline=deadline, depends_on=[],
        splittable=False, min_chunk_minutes=None, tags=tags or [], step=None, status=status, source="planner",
        external_ref=None, metadata={}, created_at=now, updated_at=completed_at or now, completed_at=completed_at,
    )  # fmt: skip


def block(task_id: UUID, start: datetime, minutes: int, *, status: str = "planned") -> CalendarBlockRead:
    return CalendarBlockRead(
        id=uuid4(), task_id=task_id, title="b", start=start, end=start + timedelta(minutes=minutes), status=status,
        pinned=False, sequence=0, run_id=uuid4(), plan_id=None, created_at=start, updated_at=start,
    )  # fmt: skip


def run(
    task_id: UUID | None, start: datetime, actual: int | None, *, estimated: int | None = None,
    status: str = "succeeded", kind: str = "task",
) -> ExecutionRead:  # fmt: skip
    finished = start + timedelta(minutes=actual) if actual is not None else None
    return ExecutionRead(
        id=uuid4(), user_id=USER, run_kind=kind, task_id=task_id, plan_id=None, subject="s", status=status,
        started_at=start, finished_at=finished, estimated_minutes=estimated, actual_minutes=actual, outcome="",
        notes="", metadata={}, idempotency_key=None, created_at=start,
    )  # fmt: skip


def activity(
    first: date, last: date | None = None, *, tasks: Sequence[TaskRead] = (), blocks: Sequence[BlockRead] = (),
    runs: Sequence[ExecutionRead] = (), busy: Sequence[Span] = (), profile: SchedulingProfile | None = None,
) -> Activity:  # fmt: skip
    profile = profile or SchedulingProfile(time_zone="Europe/Berlin")
    return Activity(
        user_id=USER, calendar=UserCalendar(zone=BERLIN, profile=profile), first=first, last=last or first,
        blocks=list(blocks), tasks={t.id: t for t in tasks}, executions=list(runs), busy=list(busy),
    )  # fmt: skip
