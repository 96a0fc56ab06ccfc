"""Steps both end-to-end stories share: a working week, waiting on background work, the runs the user
records, the two reflections and the insight they leave in memory.

The services run on the real clock, so the story is laid out around now: blocks are placed from tomorrow
on (today is a day off, so nothing lands minutes from now and passes mid-test), and the work the user
records is yesterday's (finished runs, in the past), and the reflections are of yesterday and its week, what
n8n's morning crons ask for.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TypeVar

from four_services import Clients

from pma_core.contracts.executions import ExecutionCreate, ExecutionRead
from pma_core.contracts.insights import EstimateFactorInsight
from pma_core.contracts.memory import RecallFilters, RecallHit
from pma_core.contracts.plans import PlanRead
from pma_core.contracts.reflections import DailyTrigger, ReflectionRead, WeeklyTrigger
from pma_core.contracts.scheduling import CalendarBlockRead, SchedulingProfile, TimeWindow
from pma_core.contracts.tasks import TaskRead

T = TypeVar("T")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
INSIGHT_WINDOW_DAYS = 28  # the weekly reflection looks at the four weeks up to its end (docs/observer.md)
INSIGHTS = RecallFilters(sources=["observer-agent"], metadata={"insight": "estimate_factor"})


async def eventually(
    read: Callable[[], Awaitable[T]], done: Callable[[T], bool], *, what: str, seconds: float = 30
) -> T:
    """Poll `read` until `done` holds: background work (hand-overs, reports, deliveries) has nothing to await."""
    current = await read()
    try:
        async with asyncio.timeout(seconds):
            while not done(current):
                await asyncio.sleep(0.2)
                current = await read()
    except TimeoutError:
        raise AssertionError(f"{what}: not within {seconds:.0f} s; last seen: {current!r}") from None
    return current


def today() -> date:
    return datetime.now(UTC).date()


def yesterday() -> date:
    return today() - timedelta(days=1)


def working_profile() -> SchedulingProfile:
    """08:00-18:00 UTC every day but today; nothing frozen, so a reschedule may move any block of tomorrow."""
    hours = {day: [TimeWindow(start="08:00", end="18:00")] for day in WEEKDAYS}
    return SchedulingProfile(time_zone="UTC", working_hours=hours, days_off=[today().isoformat()], freeze_hours=0)


async def until_scheduled(clients: Clients, plan: PlanRead, *, run_id: object = None) -> PlanRead:
    """The plan once the scheduler reported a run to the planner (`run_id`: that run)."""

    def reported(current: PlanRead) -> bool:
        outcome = current.scheduling.outcome
        return outcome is not None and (run_id is None or outcome.run_id == run_id)

    return await eventually(
        lambda: clients.planner.get_plan(plan.user_id, plan.id), reported, what="the scheduler's report to the planner"
    )


async def planned_blocks(clients: Clients, user_id: str) -> list[CalendarBlockRead]:
    now = datetime.now(UTC)
    listed = await clients.scheduler.list_blocks(user_id, now, now + timedelta(days=30), statuses=["planned"])
    return listed.blocks


def overlaps(block: CalendarBlockRead, start: datetime, end: datetime) -> bool:
    return block.start < end and start < block.end


@dataclass(frozen=True)
class RecordedWeek:
    """The runs the user recorded and the estimate factor they add up to."""

    runs: list[ExecutionRead]
    estimated_minutes: int
    actual_minutes: int

    @property
    def factor(self) -> float:
        return round(self.actual_minutes / self.estimated_minutes, 2)


async def record_runs(clients: Clients, tasks: Sequence[TaskRead], day: date) -> RecordedWeek:
    """One finished run per task, back to back from 09:00 on `day`: each on its estimate but the last, which
    takes three times it. The median ratio stays 1.0 (the planner's history alone changes nothing), while
    the observer's sum ratio is over 1: a change in the next plan can only come from the insight."""
    start = datetime.combine(day, datetime.min.time(), UTC) + timedelta(hours=9)
    runs = []
    for number, task in enumerate(tasks):
        minutes = task.estimate_minutes * (3 if number == len(tasks) - 1 else 1)
        runs.append(
            await clients.planner.record_execution(
                ExecutionCreate(
                    user_id=task.user_id, task_id=task.id, status="succeeded", started_at=start,
                    finished_at=start + timedelta(minutes=minutes), idempotency_key=f"e2e-run-{task.id}",
                )
            )
        )  # fmt: skip
        start += timedelta(minutes=minutes + 15)
    estimated = sum(task.estimate_minutes for task in tasks)
    return RecordedWeek(runs, estimated, sum(run.actual_minutes or 0 for run in runs))


async def reflect(clients: Clients, user_id: str, day: date) -> tuple[ReflectionRead, ReflectionRead]:
    """The reflections of `day` and of its ISO week (what n8n's morning crons ask for on the day after)."""
    [daily] = (await clients.observer.daily(DailyTrigger(user_id=user_id, date=day))).reflections
    year, week, _ = day.isocalendar()
    trigger = WeeklyTrigger(user_id=user_id, week=f"{year}-W{week:02d}")
    [weekly] = (await clients.observer.weekly(trigger)).reflections
    return daily, weekly


def expected_insight(week: RecordedWeek, weekly: ReflectionRead, *, tag: str) -> EstimateFactorInsight:
    """The estimate factor the weekly reflection finds in `week`'s runs of tasks tagged `tag`."""
    return EstimateFactorInsight(
        tag=tag, factor=week.factor, samples=len(week.runs), actual_minutes=week.actual_minutes,
        estimated_minutes=week.estimated_minutes,
        window_from=weekly.period_end - timedelta(days=INSIGHT_WINDOW_DAYS - 1), window_to=weekly.period_end,
    )  # fmt: skip


async def remembered_insight(clients: Clients, user_id: str) -> RecallHit:
    """The insight as memory holds it (delivered after the weekly trigger answered)."""
    recalled = await eventually(
        lambda: clients.memory.recall(user_id, "writing estimate", filters=INSIGHTS),
        lambda found: bool(found.hits),
        what="the weekly insight in memory",
    )
    [hit] = recalled.hits
    return hit
