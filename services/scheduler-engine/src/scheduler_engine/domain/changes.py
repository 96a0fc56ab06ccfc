"""What users do to our blocks on their calendars: read it before every run and sync, and on the sweep.

A block the user moved stays where they put it (pinned: the next run keeps it); one they deleted is
marked deleted and its task needs attention (it is not recreated); both are listed by `GET /v1/changes`.
When Google's quota is spent the user's calendar work pauses for an hour instead of being retried.

The sweep's reads are claimed per user, so with several replicas each user is read by one of them per
sweep interval (Google's quota is spent once, whatever the number of replicas). A run's own read does not
wait for a claim: it must see the user's latest moves before it places anything, and applying the same
changes twice records them once (`ChangeSink.record_changes` is idempotent).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from pma_core.clock import Clock, utc_now
from pma_core.errors import UnavailableError
from scheduler_engine.domain.models import CalendarChange
from scheduler_engine.domain.ports import CalendarBackend

_log = logging.getLogger(__name__)
QUOTA_PAUSE = timedelta(hours=1)
# How long a sweep's read of a user stays its replica's: longer than a read takes with its retries.
PULL_LEASE_SECONDS = 60.0
# After a read, the user is left alone for a little under a sweep interval: the other replicas skip them,
# and this replica's own next sweep finds them free again.
PULL_HOLD_FRACTION = 0.9


class SyncState(Protocol):
    async def cursor(self, user_id: str) -> tuple[str | None, datetime | None]:
        """(the incremental read's cursor, paused until)."""
        ...

    async def save(
        self, user_id: str, *, cursor: str | None, paused_until: datetime | None, error: str | None
    ) -> None: ...

    async def claim_pull(self, user_id: str, *, lease_seconds: float) -> bool:
        """Take the sweep's read of this user; False while another replica holds it."""
        ...

    async def release_pull(self, user_id: str, *, hold_seconds: float) -> None:
        """Done reading: nobody's sweep takes the user again for `hold_seconds`."""
        ...


class ChangeSink(Protocol):
    async def record_changes(self, user_id: str, changes: list[CalendarChange]) -> int: ...


@dataclass
class CalendarWatcher:
    state: SyncState
    sink: ChangeSink
    clock: Clock = utc_now

    async def paused(self, user_id: str) -> bool:
        _, paused_until = await self.state.cursor(user_id)
        return paused_until is not None and paused_until > self.clock()

    async def sweep(self, users: Iterable[str], calendar: CalendarBackend, *, every_seconds: float) -> int:
        """The sweep's read of each user's calendar (those another replica read lately are skipped); one
        user's calendar failing is logged and leaves the others to be read. Returns the changes kept."""
        kept = 0
        for user_id in users:
            if not await self.state.claim_pull(user_id, lease_seconds=PULL_LEASE_SECONDS):
                continue
            try:
                kept += await self.pull(user_id, calendar)
            except Exception:  # a revoked grant, Google down: this user waits for the next sweep
                _log.warning("reading the calendar of %s failed", user_id, exc_info=True)
            finally:
                await self.state.release_pull(user_id, hold_seconds=every_seconds * PULL_HOLD_FRACTION)
        return kept

    async def pull(self, user_id: str, calendar: CalendarBackend) -> int:
        """Apply what changed on the user's calendar since the last read; returns the changes kept."""
        cursor, paused_until = await self.state.cursor(user_id)
        if paused_until is not None and paused_until > self.clock():
            return 0
        try:
            batch = await calendar.changes(user_id, cursor)
        except UnavailableError as exc:
            await self.pause_if_quota(user_id, exc)
            raise
        # Deletions of blocks no longer planned (a run replaced them) are our own: the sink ignores them.
        kept = await self.sink.record_changes(user_id, list(batch.changes))
        await self.state.save(user_id, cursor=batch.cursor, paused_until=None, error=None)
        return kept

    async def pause_if_quota(self, user_id: str, exc: Exception) -> None:
        if getattr(exc, "code", None) == "google_calendar_quota_exceeded":
            until = self.clock() + QUOTA_PAUSE
            _log.warning("google calendar quota spent for %s; calendar work paused until %s", user_id, until)
            await self.state.save(user_id, cursor=None, paused_until=until, error=str(exc))
