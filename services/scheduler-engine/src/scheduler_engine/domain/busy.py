"""The user's busy time in a window, as the observer's reflections read it (GET /v1/busy).

The same source a run plans around: the `CalendarBackend` of a user who connected Google, over their
profile's busy calendars, which leaves our own blocks out (they are what was planned, not what kept the
user busy). Unlike a run, a failure of Google is an answer, not an error: a reflection says "the calendar
could not be read" instead of failing, and a user on the ICS feed alone has no calendar to read.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from pma_core.contracts.scheduling import BusyInterval, BusyRead
from pma_core.errors import AppError
from scheduler_engine.domain.changes import CalendarWatcher
from scheduler_engine.domain.models import Interval
from scheduler_engine.domain.ports import CalendarBackend, ProfileStore

_log = logging.getLogger(__name__)
PAUSED = "Google Calendar's usage limits were exceeded; calendar reads for this user resume within the hour"


@dataclass
class BusyReader:
    calendar_for: Callable[[str], Awaitable[CalendarBackend | None]]
    profiles: ProfileStore
    watcher: CalendarWatcher | None = None

    async def busy(self, user_id: str, window: Interval) -> BusyRead:
        """Merged busy intervals in `window`; `available` false with the reason when Google fails (rate
        limits, 5xx after the retries, a revoked or expired grant) or the user's calendar work is paused."""
        calendar = await self.calendar_for(user_id)
        if calendar is None:
            return BusyRead(source="none", available=True, intervals=[])
        if self.watcher is not None and await self.watcher.paused(user_id):
            return BusyRead(source="google", available=False, intervals=[], error=PAUSED)
        profile = await self.profiles.get(user_id)
        try:
            intervals = await calendar.busy(user_id, window, profile.busy_calendars)
        except AppError as exc:
            _log.warning("busy time of %s could not be read: %s", user_id, exc.message)
            return BusyRead(source="google", available=False, intervals=[], error=exc.message)
        shown = [BusyInterval(start=interval.start, end=interval.end) for interval in intervals]
        return BusyRead(source="google", available=True, intervals=shown)
