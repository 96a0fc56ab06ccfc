"""The event log and similar_events, free of FastAPI and SQL: the stores are small Protocols.

similar_events is hybrid retrieval like recall: dense candidates from the Qdrant `events` collection and
lexical ones from Postgres full-text search, fused by reciprocal rank, weighted by recency. Every candidate
is re-read from Postgres for the asking user and re-checked against the filters, so a lagging index (or
its second-granular dates) can never widen what the caller may see. When the vector search fails, the hits
come from full-text search alone and the answer says so (`lexical_only`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from memory_gateway.domain.models import EventWindow, Ranked
from memory_gateway.domain.ports import EventFinder, EventLog, EventNeighbours
from memory_gateway.domain.ranking import Fused, recency_weight, rrf_fuse
from pma_core.clock import utc_now
from pma_core.contracts.events import EventItem, EventLogRead, EventRead, EventScoreParts, SimilarEventHit
from pma_core.errors import NotFoundError


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


@dataclass(frozen=True)
class SimilarEventsFound:
    hits: list[SimilarEventHit]
    # The vector search failed: the hits come from full-text search alone.
    lexical_only: bool


class SimilarEvents:
    """similar_events: the events most like a given event or text, best first, explained."""

    def __init__(self, *, finder: EventFinder, neighbours: EventNeighbours, tuning: SimilarityTuning) -> None:
        self.finder = finder
        self.neighbours = neighbours
        self.tuning = tuning

    async def find(self, search: SimilarEventsSearch, *, now: datetime | None = None) -> SimilarEventsFound:
        text = await self._query_text(search)
        # One more candidate than needed from each side: the source event itself is dropped from both.
        limit = max(self.tuning.candidates, search.limit) + 1
        wide = search.window.widened_to_seconds()
        dense = await self.neighbours.nearest(search.user_id, text, window=wide, limit=limit)
        lexical = await self.finder.lexical(search.user_id, text, window=search.window, limit=limit)
        fused = rrf_fuse(
            _without(dense or [], search.event_id), _without(lexical, search.event_id), k=self.tuning.rrf_k
        )
        events = await self.finder.get_many(search.user_id, list(fused))
        moment = now or utc_now()
        hits = [self._hit(e, fused[e.id], moment) for e in events if search.window.admits(e)]
        hits.sort(key=lambda hit: (-hit.score, -hit.event.occurred_at.timestamp()))
        return SimilarEventsFound(hits[: search.limit], lexical_only=dense is None)

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
