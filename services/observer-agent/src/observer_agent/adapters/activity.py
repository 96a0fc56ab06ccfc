"""The user's recorded activity, read through the other services' HTTP APIs (never their tables).

The planner (plans, tasks, executions) and the scheduler (profile, blocks) are required: a reflection
without them would be wrong, so their absence is a 503. Meetings (the scheduler's read of the user's
Google Calendar) and events (the memory-gateway) only add to it: without them the reflection is built
and says what it lacks.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import date, datetime
from uuid import UUID
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from observer_agent.domain.models import Activity, Span, UserCalendar
from observer_agent.domain.periods import days_span
from pma_core.clients import MemoryGatewayClient, PlannerEngineClient, SchedulerEngineClient
from pma_core.contracts.events import EventRead
from pma_core.contracts.executions import ExecutionRead
from pma_core.contracts.plans import PlanListRead
from pma_core.contracts.scheduling import BlockListRead
from pma_core.contracts.tasks import TaskListRead, TaskRead
from pma_core.errors import AppError

_log = logging.getLogger(__name__)
EVENTS_LIMIT = 100
LIST_LIMIT = 1000


class ServiceActivity:
    def __init__(
        self, *, planner: PlannerEngineClient, scheduler: SchedulerEngineClient, memory: MemoryGatewayClient
    ) -> None:
        self._planner, self._scheduler, self._memory = planner, scheduler, memory

    async def calendar(self, user_id: str) -> UserCalendar:
        profile = await self._scheduler.get_profile(user_id)
        try:
            zone = ZoneInfo(profile.time_zone)
        except (ZoneInfoNotFoundError, ValueError):
            _log.warning("unknown time zone %r for %s; reflecting in UTC", profile.time_zone, user_id)
            zone = ZoneInfo("UTC")
        return UserCalendar(zone=zone, profile=profile)

    async def gather(self, user_id: str, calendar: UserCalendar, first: date, last: date) -> Activity:
        span = days_span(first, last, calendar.zone)
        (blocks, executions, (busy, busy_state), (events, events_state)), (done, due, plans) = await asyncio.gather(
            self._records(user_id, span), self._tasks_and_plans(user_id, span)
        )
        tasks: dict[UUID, TaskRead] = {task.id: task for task in [*done.tasks, *due.tasks]}
        wanted = {b.task_id for b in blocks.blocks} | {r.task_id for r in executions if r.task_id}
        missing = sorted(wanted - tasks.keys())
        if missing:
            tasks |= {task.id: task for task in await self._planner.tasks_by_ids(user_id, missing)}
        return Activity(
            user_id=user_id, calendar=calendar, first=first, last=last, blocks=blocks.blocks, tasks=tasks,
            executions=executions, busy=busy, events=events, plans=plans.plans,
            sources={"planner": "ok", "scheduler": "ok", "meetings": busy_state, "events": events_state},
        )  # fmt: skip

    async def _records(
        self, user_id: str, span: Span
    ) -> tuple[BlockListRead, list[ExecutionRead], tuple[list[Span], str], tuple[list[EventRead], str]]:
        return await asyncio.gather(
            self._scheduler.list_blocks(user_id, span.start, span.end),
            self._planner.executions_between(user_id, span.start, span.end),
            self._busy(user_id, span),
            self._events(user_id, span),
        )

    async def _tasks_and_plans(self, user_id: str, span: Span) -> tuple[TaskListRead, TaskListRead, PlanListRead]:
        window = {"limit": LIST_LIMIT}
        return await asyncio.gather(
            self._planner.list_tasks(
                user_id, completed_after=span.start.isoformat(), completed_before=span.end.isoformat(), **window
            ),
            self._planner.list_tasks(
                user_id, deadline_after=span.start.isoformat(), deadline_before=span.end.isoformat(), **window
            ),
            self._planner.list_plans(user_id, created_after=span.start, created_before=span.end, limit=100),
        )

    async def active_users(self, since: datetime, until: datetime) -> list[str]:
        planner, scheduler = await asyncio.gather(
            self._planner.active_users(since, until), self._scheduler.active_users(since, until)
        )
        return sorted(set(planner) | set(scheduler))

    async def _busy(self, user_id: str, span: Span) -> tuple[list[Span], str]:
        try:
            busy = await self._scheduler.busy(user_id, span.start, span.end)
        except AppError as exc:
            return [], f"unavailable: {exc.message}"
        if not busy.available:
            return [], f"unavailable: {busy.error or 'the calendar did not answer'}"
        if busy.source == "none":
            return [], "none: no Google Calendar connected, meetings are not counted"
        return [Span(i.start, i.end) for i in busy.intervals], "ok"

    async def _events(self, user_id: str, span: Span) -> tuple[list[EventRead], str]:
        try:
            events = await self._memory.list_events(user_id, since=span.start, until=span.end, limit=EVENTS_LIMIT)
        except AppError as exc:
            return [], f"unavailable: {exc.message}"
        return events, "ok" if len(events) < EVENTS_LIMIT else f"ok (the latest {EVENTS_LIMIT} counted)"
