"""Daily threads and similar_days, free of FastAPI and SQL: the store and the index are small Protocols.

A thread is upserted by (user_id, key): Postgres first, in one transaction, then the index after the
commit (a failed index write leaves the thread pending for the repair loop). An upsert that changes
nothing is "unchanged" and embeds nothing.

similar_days ranks like similar_events: dense candidates from the Qdrant `daily_threads` collection and
full-text ones from Postgres, fused by reciprocal rank. Unlike events, days are not weighed by age: "days
like this one" are looked for across months, and a recency weight would put any recent day sharing a word
above the most alike day of last spring (RRF keeps the hits of both retrievers within a few percent).
Every candidate is re-read from Postgres for the asking user and re-checked against the kind, so a
lagging index can never widen what the caller may see. When the vector search fails, the hits come from
full-text search alone and the answer says so (`lexical_only`).
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from uuid import UUID

from memory_gateway.domain.models import Ranked
from memory_gateway.domain.ports import DailyThreadIndex, DailyThreadStore
from memory_gateway.domain.ranking import Fused, rrf_fuse
from pma_core.contracts.daily_threads import (
    DailyThreadListQuery,
    DailyThreadRead,
    DailyThreadUpsert,
    DailyThreadWriteRead,
    DayScoreParts,
    SimilarDayHit,
    ThreadKind,
)
from pma_core.errors import NotFoundError

# Bumped when the hash's input changes shape, so old hashes never equal new ones by accident.
_HASH_VERSION = 1


def content_hash(thread: DailyThreadUpsert) -> str:
    """SHA-256 of what an upsert stores but its owner and key: kind, period, text and metadata.

    An identical upsert is then "unchanged": it rewrites nothing and embeds nothing.
    """
    content = thread.model_dump(mode="json", exclude={"user_id", "key"})
    canonical = json.dumps({"v": _HASH_VERSION, **content}, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class SimilarDaysSearch:
    user_id: str
    limit: int
    kind: ThreadKind | None = None
    key: str | None = None
    text: str | None = None


@dataclass(frozen=True)
class SimilarDaysFound:
    hits: list[SimilarDayHit]
    # The vector search failed: the hits come from full-text search alone.
    lexical_only: bool


class DailyThreads:
    """The daily-thread operations the API serves."""

    def __init__(self, *, store: DailyThreadStore, index: DailyThreadIndex, candidates: int, rrf_k: int) -> None:
        self.store = store
        self.index = index
        # How many candidates each retriever brings, and the k of reciprocal rank fusion (as for events).
        self.candidates = candidates
        self.rrf_k = rrf_k

    async def upsert(self, thread: DailyThreadUpsert) -> DailyThreadWriteRead:
        """Store the thread under its key; (re)index it after the commit unless nothing changed."""
        result = await self.store.upsert(thread, content_hash=content_hash(thread))
        if result.outcome != "unchanged":
            await self.index.index([result.thread.id])
        return result

    async def get(self, user_id: str, thread_id: UUID) -> DailyThreadRead:
        thread = await self.store.get(user_id, thread_id)
        if thread is None:
            raise _not_found(thread_id)
        return thread

    async def list_threads(self, query: DailyThreadListQuery) -> list[DailyThreadRead]:
        return await self.store.list_threads(query)

    async def delete(self, user_id: str, thread_id: UUID) -> None:
        """Delete the thread, then (after the commit) its vector."""
        if not await self.store.delete(user_id, thread_id):
            raise _not_found(thread_id)
        await self.index.remove([thread_id])

    async def similar(self, search: SimilarDaysSearch) -> SimilarDaysFound:
        """The user's threads most like the key's thread (left out) or the text, best first, explained."""
        text, excluded = await self._query(search)
        # One more candidate than needed from each side: the source thread itself is dropped from both.
        limit = max(self.candidates, search.limit) + 1
        dense = await self.index.nearest(search.user_id, text, kind=search.kind, limit=limit)
        lexical = await self.store.lexical(search.user_id, text, kind=search.kind, limit=limit)
        fused = rrf_fuse(_without(dense or [], excluded), _without(lexical, excluded), k=self.rrf_k)
        threads = await self.store.get_many(search.user_id, list(fused))
        hits = [_hit(t, fused[t.id]) for t in threads if search.kind is None or t.kind == search.kind]
        hits.sort(key=lambda hit: (-hit.score, -hit.thread.period_start.toordinal(), str(hit.thread.id)))
        return SimilarDaysFound(hits[: search.limit], lexical_only=dense is None)

    async def _query(self, search: SimilarDaysSearch) -> tuple[str, UUID | None]:
        """The text to search with, and the thread to leave out of the hits."""
        if search.key is None:
            assert search.text is not None, "the contract requires key or text"
            return search.text, None
        source = await self.store.by_key(search.user_id, search.key)
        if source is None:
            # Another user's key is as unknown as a missing one: never confirm it exists.
            raise NotFoundError(f"daily thread {search.key!r} not found", details={"key": search.key})
        return source.text, source.id


def _hit(thread: DailyThreadRead, fused: Fused) -> SimilarDayHit:
    parts = DayScoreParts(
        dense_rank=fused.dense_rank,
        dense_similarity=_finite(fused.dense_similarity),
        lexical_rank=fused.lexical_rank,
        lexical_score=_finite(fused.lexical_score),
        rrf=fused.rrf,
        recency=1.0,
        final=fused.rrf,
    )
    return SimilarDayHit(thread=thread, score=parts.final, parts=parts)


def _not_found(thread_id: UUID) -> NotFoundError:
    return NotFoundError(f"daily thread {thread_id} not found", details={"id": str(thread_id)})


def _without(ranked: Ranked, excluded: UUID | None) -> Ranked:
    return [pair for pair in ranked if pair[0] != excluded]


def _finite(value: float | None) -> float | None:
    # JSON has no NaN; an engine's odd score must not turn into an invalid response.
    return value if value is None or math.isfinite(value) else None
