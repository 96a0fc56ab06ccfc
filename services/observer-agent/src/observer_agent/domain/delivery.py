"""Delivering a stored reflection: its Coda Daily Thread row, its daily thread in the memory-gateway and,
for a weekly one, its insights as memories. Each is owed until it is done for the reflection's current
content, and retried by the sweep (and `POST /v1/reflections/{id}/post`) until then.

Coda: a row is posted by an upsert on its key column, so a retry can never add a second row; it counts
as posted only once `mutationStatus` says `completed` for the request that wrote the current content. A
request id Coda no longer knows (404) means: upsert again, by key.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from uuid import UUID

from observer_agent.domain.coda_rows import ThreadRow
from observer_agent.domain.ports import Pending, PosterBusy, ReflectionMemory, ReflectionStore, ThreadPoster
from pma_core.contracts.reflections import DailyMetrics, ReflectionRead
from pma_core.errors import AppError

_log = logging.getLogger(__name__)
# How long one delivery may hold a reflection before another (a sweep, a replica) may take it over.
LEASE_SECONDS = 120.0


def thread_row(reflection: ReflectionRead) -> ThreadRow:
    """The Coda row of a reflection (texts are fitted to Coda's limits by the row itself)."""
    narrative = reflection.narrative
    metrics = reflection.metrics
    figures = metrics if isinstance(metrics, DailyMetrics) else metrics.totals
    accuracy = figures.estimate_accuracy.ratio
    lines = [
        f"tasks {figures.tasks_done}/{figures.tasks_planned} done",
        f"minutes {figures.actual_minutes} actual / {figures.planned_minutes} planned",
        f"estimates x{accuracy:.2f}" if accuracy is not None else "estimates: no measured runs",
        f"focus {figures.focus_minutes} min, meetings {figures.meeting_minutes} min",
    ]
    label = "Daily" if reflection.kind == "daily" else "Weekly"
    return ThreadRow(
        key=reflection.key,
        user_id=reflection.user_id,
        local_date=reflection.period_start,
        kind=reflection.kind,
        title=f"{label} reflection {reflection.period}",
        summary="\n".join(
            [narrative.summary, f"Slipped: {narrative.slipped}", f"Change: {narrative.change_for_tomorrow}"]
        ),
        metrics="; ".join(lines),
        suggestions="\n".join(f"- {s.text} ({s.evidence})" for s in narrative.suggestions),
        chart_url=reflection.chart_url,
        updated_at=reflection.updated_at,
    )


class Delivery:
    def __init__(
        self,
        *,
        store: ReflectionStore,
        poster: ThreadPoster,
        memory: ReflectionMemory,
        poll_seconds: float,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store, self.poster, self.memory = store, poster, memory
        self.poll_seconds, self.sleep, self.clock = poll_seconds, sleep, clock

    async def deliver(self, reflection: ReflectionRead, *, wait_seconds: float = 0.0) -> None:
        """Do what is owed for this reflection now, unless another delivery (the sweep, another replica)
        holds it; whatever fails stays owed for the sweep."""
        if not await self.store.claim_one(reflection.id, lease_seconds=LEASE_SECONDS + wait_seconds):
            return
        await self._deliver_claimed(reflection.id, wait_seconds)

    async def sweep(self, *, limit: int = 20) -> int:
        """Deliver what is owed, a batch at a time; returns how many reflections were tried."""
        claimed = await self.store.claim(limit=limit, lease_seconds=LEASE_SECONDS)
        for reflection_id in claimed:
            await self._deliver_claimed(reflection_id, 0.0)
        return len(claimed)

    async def post_now(self, reflection_id: UUID, *, wait_seconds: float) -> None:
        """The explicit retry: it does not wait out a failed post's back-off (an upsert by key is safe).

        Its caller is waiting, so its Coda calls get `wait_seconds` in all: a write that cannot start by
        then (the client's write limit, 5 per 6 s, is booked by the deliveries in flight) is not sent and
        stays owed for the sweep, as a write Coda has not finished by then does. Background deliveries
        wait for their turn instead."""
        await self._deliver_claimed(reflection_id, wait_seconds, bounded=True)

    async def _deliver_claimed(self, reflection_id: UUID, wait_seconds: float, *, bounded: bool = False) -> None:
        try:
            pending = await self.store.pending(reflection_id)
            if pending is not None:
                await self._deliver_pending(pending, wait_seconds, bounded=bounded)
        finally:
            await self.store.release(reflection_id)

    async def _deliver_pending(self, pending: Pending, wait_seconds: float, *, bounded: bool) -> None:
        reflection = pending.reflection
        if pending.index:
            await self._attempt("index", pending, self._index)
        if pending.remember:
            await self._attempt("insights", pending, self._remember)
        if pending.post and self.poster.configured:
            try:
                await self._post(pending, self.clock() + wait_seconds, bounded=bounded)
            except PosterBusy as busy:
                _log.info("Coda row of %s left for the sweep: %s", reflection.key, busy)
            except AppError as exc:
                _log.warning("Coda row of %s not posted: %s", reflection.key, exc.message)
                await self.store.posting_failed(reflection.id, error=exc.message)

    async def _attempt(self, what: str, pending: Pending, action: Callable[[Pending], Awaitable[None]]) -> None:
        try:
            await action(pending)
        except AppError as exc:
            _log.warning("%s of %s not delivered yet: %s", what, pending.reflection.key, exc.message)

    async def _index(self, pending: Pending) -> None:
        await self.memory.index(pending.reflection)
        await self.store.indexed(pending.reflection.id, content_hash=pending.content_hash)

    async def _remember(self, pending: Pending) -> None:
        await self.memory.remember(pending.reflection, pending.reflection.insights)
        await self.store.remembered(pending.reflection.id, content_hash=pending.content_hash)

    def _within(self, deadline: float, bounded: bool) -> float | None:
        return max(0.0, deadline - self.clock()) if bounded else None

    async def _post(self, pending: Pending, deadline: float, *, bounded: bool) -> None:
        reflection, request_id = pending.reflection, pending.request_id
        if request_id is not None:
            state = await self.poster.mutation_status(request_id, within=self._within(deadline, bounded))
            if state == "completed":
                await self.store.posted(reflection.id, content_hash=pending.content_hash)
                return
            if state == "pending":
                await self._wait_for(pending, request_id, deadline, bounded=bounded)
                return
        request_id = await self.poster.upsert(thread_row(reflection), within=self._within(deadline, bounded))
        await self.store.posting_started(reflection.id, request_id=request_id, content_hash=pending.content_hash)
        await self._wait_for(pending, request_id, deadline, bounded=bounded)

    async def _wait_for(self, pending: Pending, request_id: str, deadline: float, *, bounded: bool) -> None:
        """Poll Coda's mutation status until `deadline` (the clock's, not a count of polls: a poll may wait
        for the read limit); still queued then, the sweep asks again."""
        while (left := deadline - self.clock()) > 0:
            await self.sleep(min(self.poll_seconds, left))
            try:
                state = await self.poster.mutation_status(request_id, within=self._within(deadline, bounded))
            except PosterBusy:
                return  # no read slot before the deadline: as if still queued
            if state == "completed":
                await self.store.posted(pending.reflection.id, content_hash=pending.content_hash)
                return
            if state == "missing":
                return  # the next delivery upserts again, by key
