"""The event log and similar_events, free of FastAPI and SQL: the stores are small Protocols.

similar_events is hybrid retrieval like recall: dense candidates from the Qdrant `events` collection and
lexical ones from Postgres full-text search, fused by reciprocal rank, weighted by recency. Every candidate
is re-read from Postgres for the asking user and re-checked against the filters, so a lagging index (or
its second-granular dates) can never widen what the caller may see.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol
from uuid import UUID

from memory_gateway.domain.ranking import Fused, recency_weight, rrf_fuse
from pma_core.contracts.events import EventItem, EventLogRead, EventRead, EventScoreParts, SimilarEventHit
from pma_core.errors import NotFoundError

Ranked = list[tuple[UUID, float]]


@dataclass(frozen=True)
class EventWindow:
    """Which events a search may return: these types (None = any), occurred in `[after, before)`."""

    types: tuple[str, ...] | None = None
    after: datetime | None = None
    before: datetime | None = None

    def admits(self, event: EventRead) -> bool:
        return (
            (self.types is None or event.event_type in self.types)
            and (self.after is None or event.occurred_at >= self.after)
            and (self.before is None or event.occurred_at < self.before)
        )

    def widened_to_seconds(self) -> EventWindow:
        """The window with its bounds rounded outwards to whole seconds.

        The vector index stores occurred_at to the second; a sub-second bound would drop events of that
        second there. The exact bounds are applied again on the rows read back from Postgres.
        """
        after = self.after.replace(microsecond=0) if self.after else None
        before = self.before
        if before is not None and before.microsecond:
            before = before.replace(microsecond=0) + timedelta(seconds=1)
        return EventWindow(types=self.types, after=after, before=before)


class EventWriter(Protocol):
    async def insert(self, item: EventItem, *, position: int | None) -> EventLogRead:
        """Insert one event, or return the user's event with the same idempotency key (replayed)."""
        ...


class EventLog(Protocol):
    def transaction(self, user_id: str) -> AbstractAsyncContextManager[EventWriter]: ...

    async def index(self, ids: Sequence[UUID]) -> None:
        """Mirror committed events into the vector index (a failure leaves them for the repair loop)."""
        ...


class EventFinder(Protocol):
    """The Postgres side of similar_events; every call is scoped to one user."""

    async def get_many(self, user_id: str, ids: Sequence[UUID]) -> list[EventRead]: ...

    async def index_text(self, user_id: str, event_id: UUID) -> str | None:
        """The text the vector index embeds for this event."""
        ...

    async def lexical(self, user_id: str, text: str, *, window: EventWindow, limit: int) -> Ranked: ...


class EventNeighbours(Protocol):
    """The vector side: nearest events to a text, within one user and a window, nearest first."""

    async def nearest(self, user_id: str, text: str, *, window: EventWindow, limit: int) -> Ranked: ...


async def log_events(log: EventLog, user_id: str, items: Sequence[EventItem]) -> list[EventLogRead]:
    """Store `items` in one transaction (all or none), then index the new ones.

    Indexing follows the commit, so Postgres (the source of truth) never waits on Qdrant; replayed events
    were indexed when first logged, or are pending for the repair loop.
    """
    batch = len(items) > 1
    async with log.transaction(user_id) as writer:
        results = [await writer.insert(item, position=i if batch else None) for i, item in enumerate(items)]
    await log.index([r.event.id for r in results if r.outcome == "created"])
    return results


@dataclass(frozen=True)
class SimilarityTuning:
    candidates: int
    rrf_k: int
    half_life_days: float
    recency_floor: float


@dataclass(frozen=True)
class SimilarEventsSearch:
    user_id: str
    window: EventWindow
    limit: int
    event_id: UUID | None = None
    text: str | None = None


class SimilarEvents:
    """similar_events: the events most like a given event or text, best first, explained."""

    def __init__(self, *, finder: EventFinder, neighbours: EventNeighbours, tuning: SimilarityTuning) -> None:
        self.finder = finder
        self.neighbours = neighbours
        self.tuning = tuning

    async def find(self, search: SimilarEventsSearch, *, now: datetime | None = None) -> list[SimilarEventHit]:
        text = await self._query_text(search)
        # One more candidate than needed from each side: the source event itself is dropped from both.
        limit = max(self.tuning.candidates, search.limit) + 1
        wide = search.window.widened_to_seconds()
        dense = await self.neighbours.nearest(search.user_id, text, window=wide, limit=limit)
        lexical = await self.finder.lexical(search.user_id, text, window=search.window, limit=limit)
        fused = rrf_fuse(_without(dense, search.event_id), _without(lexical, search.event_id), k=self.tuning.rrf_k)
        events = await self.finder.get_many(search.user_id, list(fused))
        moment = now or datetime.now(UTC)
        hits = [self._hit(e, fused[e.id], moment) for e in events if search.window.admits(e)]
        hits.sort(key=lambda hit: (-hit.score, -hit.event.occurred_at.timestamp()))
        return hits[: search.limit]

    async def _query_text(self, search: SimilarEventsSearch) -> str:
        if search.event_id is None:
            assert search.text is not None, "the contract requires event_id or text"
            return search.text
        text = await self.finder.index_text(search.user_id, search.event_id)
        if text is None:
            # Another user's event is as unknown as a missing one: never confirm it exists.
            raise NotFoundError(f"event {search.event_id} not found", details={"id": str(search.event_id)})
        return text

    def _hit(self, event: EventRead, fused: Fused, now: datetime) -> SimilarEventHit:
        recency = recency_weight(
            event.occurred_at, now, half_life_days=self.tuning.half_life_days, floor=self.tuning.recency_floor
        )
        final = fused.rrf * recency
        parts = EventScoreParts(
            dense_rank=fused.dense_rank,
            dense_similarity=_finite(fused.dense_similarity),
            lexical_rank=fused.lexical_rank,
            lexical_score=_finite(fused.lexical_score),
            rrf=fused.rrf,
            recency=recency,
            final=final,
        )
        return SimilarEventHit(event=event, score=final, parts=parts)


def _without(ranked: Ranked, excluded: UUID | None) -> Ranked:
    return [pair for pair in ranked if pair[0] != excluded]


def _finite(value: float | None) -> float | None:
    # JSON has no NaN; an engine's odd score must not turn into an invalid response.
    return value if value is None or math.isfinite(value) else None
