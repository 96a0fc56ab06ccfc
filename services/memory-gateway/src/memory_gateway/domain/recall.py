"""recall: hybrid retrieval over a user's memories, explained and cached.

Dense candidates come from Qdrant, lexical ones from Postgres full-text search (IDF-weighted), both at
once. Every candidate is then scored by both retrievers, whichever found it (its cosine from its stored
vector, its lexical score from its words), the scores are fused (`score_fuse`), and recency and importance
weigh the result; MMR optionally re-ranks for diversity. Every candidate is re-read from Postgres with the
request's filters, so the index can lag or hold superseded points and recall still answers only with what
the filters allow.

When Qdrant fails, recall still answers: from full-text search alone if the vector search failed (the answer
says `lexical_only`), without the vectors it reads if only those reads failed (no cosine for candidates the
search left out, no MMR). Neither answer is cached, so the first identical recall once Qdrant answers again
is the full one.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any
from uuid import UUID

from memory_gateway.domain.memories import memory_read
from memory_gateway.domain.models import LexicalCandidates, MemoryRow, RecallScope, ScopedRow
from memory_gateway.domain.ports import Mirror, RecallCache, RecallStore, TextEmbedder
from memory_gateway.domain.ranking import (
    Relevance,
    cosines,
    importance_weight,
    lexical_overlap,
    mmr,
    recency_weight,
    score_fuse,
    worth_completing,
)
from memory_gateway.settings import MemorySettings
from pma_core.clock import Clock, utc_now
from pma_core.contracts.memory import ExternalHit, RecallHit, RecallRead, RecallRequest, ScoreParts
from pma_core.vectors.collections import Collection
from pma_core.vectors.port import VectorFilter, VectorStore, VectorStoreError

_log = logging.getLogger(__name__)
COLLECTION = Collection.AGENT_MEMORIES
# Share of the dense score in the fused relevance: equal weights, neither retriever is trusted more.
DENSE_WEIGHT = 0.5
# MMR picks `limit` from the best `limit` x this many.
_MMR_POOL = 3
Ranked = list[tuple[UUID, float]]


@dataclass(frozen=True)
class ScoredMemory:
    row: MemoryRow
    relevance: Relevance
    recency: float
    importance: float

    @property
    def final(self) -> float:
        return self.relevance.fused * self.recency * self.importance


@dataclass(frozen=True)
class CacheEntry:
    """Where a recall is cached, the generation of the user's memories now, and the cached JSON if current."""

    key: str
    generation: int
    payload: bytes | None = None


@dataclass(frozen=True)
class Recalled:
    """The best memories, and how much of Qdrant answered: `lexical_only` when the vector search failed,
    `complete` only when every vector call succeeded (an answer that is not is never cached)."""

    scored: list[ScoredMemory]
    lexical_only: bool
    complete: bool


@dataclass(frozen=True)
class RecallAnswer:
    """A recall's answer as the JSON object `{"hits": [...], "external_hits": [...], "lexical_only": ...}`,
    built once (a cached answer is returned as stored, never parsed again), and whether it came from the cache."""

    payload: bytes
    cached: bool


@dataclass(frozen=True)
class RecallQuery:
    scope: RecallScope
    text: str
    limit: int
    mmr: bool = False
    mmr_lambda: float = 0.5


class RecallService:
    def __init__(
        self,
        *,
        store: RecallStore,
        vectors: VectorStore,
        embedder: TextEmbedder,
        cache: RecallCache,
        settings: MemorySettings,
        mirror: Mirror | None = None,
        clock: Clock = utc_now,
    ) -> None:
        self.store = store
        self.vectors = vectors
        self.embedder = embedder
        self.cache = cache
        self.settings = settings
        self.mirror = mirror
        self.clock = clock

    async def answer(self, request: RecallRequest) -> RecallAnswer:
        """The request's answer: from the cache when an identical recall was answered since the user's
        memories last changed; else recalled (and mem0 asked alongside, when asked for) and cached, unless
        Qdrant or mem0 failed for it (the next identical recall then asks them again)."""
        entry = None
        if request.use_cache:
            entry = await self.cached(request.user_id, request.model_dump(mode="json", exclude={"use_cache"}))
            if entry.payload is not None:
                return RecallAnswer(entry.payload, cached=True)
        scope = RecallScope(user_id=request.user_id, now=self.clock(), **request.filters.model_dump())
        query = RecallQuery(
            scope=scope, text=request.query, limit=request.limit, mmr=request.mmr, mmr_lambda=request.mmr_lambda
        )
        ours, theirs = await asyncio.gather(self.recall(query), self._mirror_hits(request))
        hits = [_hit(scored, scope.now) for scored in ours.scored]
        found = RecallRead(
            hits=hits, external_hits=theirs or [], lexical_only=ours.lexical_only, cached=False, took_ms=0.0
        )
        payload = found.model_dump_json(include={"hits", "external_hits", "lexical_only"}).encode()
        if entry is not None and ours.complete and theirs is not None:
            await self.keep(entry, payload)
        return RecallAnswer(payload, cached=False)

    async def _mirror_hits(self, request: RecallRequest) -> list[ExternalHit] | None:
        """mem0's hits when asked for ([] when not), None when it failed."""
        if not request.include_mem0 or self.mirror is None:
            return []
        return await self.mirror.search(request.user_id, request.query, limit=request.limit)

    async def recall(self, query: RecallQuery) -> Recalled:
        """The best `limit` memories for the query, best first."""
        scope = query.scope
        (vector,) = await self.embedder.embed([query.text])
        # The full-text query goes out first: Postgres works on it while the (in-process) vector search runs
        # and, on a second connection, the rows of the vector search's candidates are read.
        lexical, (dense, dense_rows) = await asyncio.gather(
            self.store.lexical(scope, query.text, limit=self.settings.candidates), self._dense_rows(scope, vector)
        )
        rows = {row.id: (row, lexemes) for row, lexemes in dense_rows} | dict(lexical.rows)
        keep = query.limit * _MMR_POOL if query.mmr else query.limit
        scored, complete = await self._scored(vector, dense or [], lexical, rows, scope=scope, keep=keep)
        found = Recalled(scored[: query.limit], lexical_only=dense is None, complete=complete and dense is not None)
        if not query.mmr:
            return found
        diverse = await self._diversify(scored[:keep], limit=query.limit, lambda_=query.mmr_lambda)
        if diverse is None:  # the vectors could not be read: relevance order, as without MMR
            return replace(found, complete=False)
        return replace(found, scored=diverse)

    async def _scored(
        self,
        vector: list[float],
        dense: Ranked,
        lexical: LexicalCandidates,
        rows: dict[UUID, ScopedRow],
        *,
        scope: RecallScope,
        keep: int,
    ) -> tuple[list[ScoredMemory], bool]:
        """Every row in scope scored by both retrievers, fused and weighted, best first; and False when the
        vectors of candidates the search left out could not be read (they are scored without a cosine)."""
        overlap = {key: lexical_overlap(lexemes, lexical.weights) for key, (_, lexemes) in rows.items()}
        weights = {key: self._weights(row, scope) for key, (row, _) in rows.items()}
        multipliers = {key: recency * importance for key, (recency, importance) in weights.items()}
        similarity: dict[UUID, float | None] = {key: score for key, score in dense if key in rows}
        missing = self._worth_completing(dense, similarity, overlap, multipliers, keep=keep)
        completed = await self._similarities(vector, missing)
        similarity.update(completed or {})
        relevance = score_fuse(dense, lexical.ranked, similarity=similarity, overlap=overlap, dense_weight=DENSE_WEIGHT)
        scored = (ScoredMemory(rows[key][0], relevance[key], *weights[key]) for key in rows)
        return sorted(scored, key=lambda s: (-s.final, s.row.id)), completed is not None

    def _worth_completing(
        self,
        dense: Ranked,
        similarity: dict[UUID, float | None],
        overlap: dict[UUID, float],
        multipliers: dict[UUID, float],
        *,
        keep: int,
    ) -> list[UUID]:
        """Candidates the vector search did not return whose cosine could still lift them into the best `keep`.

        Only a full dense list leaves any out: a shorter one held every indexed memory in the filter, so the
        rest have no vector yet. One left out of a full list is at most as similar as its last hit, which
        bounds its final score; `worth_completing` keeps those whose bound reaches the cut.
        """
        missing = [key for key in overlap if key not in similarity]
        if not missing or len(dense) < self.settings.candidates:
            return []
        best_dense = max((max(s or 0.0, 0.0) for s in similarity.values()), default=0.0)
        if best_dense <= 0:
            return missing  # no dense score in scope to bound them by
        best_lexical = max(overlap.values()) or 1.0

        def final(key: UUID, cosine: float) -> float:
            fused = DENSE_WEIGHT * max(cosine, 0.0) / best_dense + (1 - DENSE_WEIGHT) * overlap[key] / best_lexical
            return fused * multipliers[key]

        exact = [final(key, score or 0.0) for key, score in similarity.items()]
        bounds = {key: (final(key, 0.0), final(key, dense[-1][1])) for key in missing}
        return worth_completing(exact, bounds, keep=keep)

    async def _dense_rows(self, scope: RecallScope, vector: list[float]) -> tuple[Ranked | None, list[ScopedRow]]:
        """The vector search's candidates (None if it failed), and those of their rows that pass every filter
        of the scope."""
        dense = await self._dense(scope, vector)
        return dense, await self.store.in_scope(scope, [key for key, _ in dense]) if dense else []

    async def _dense(self, scope: RecallScope, vector: list[float]) -> Ranked | None:
        """The vector search's candidates, best first; None when it failed ([] is a search that found none)."""
        flt = VectorFilter(
            user_id=scope.user_id,
            kinds=scope.kinds,
            created_from=scope.created_after,
            created_to=scope.created_before,
        )
        try:
            hits = await self.vectors.search(COLLECTION, vector, flt=flt, limit=self.settings.candidates)
        except (VectorStoreError, OSError) as exc:
            # Qdrant down or its collection being rebuilt: answer from full-text search alone rather than
            # fail, and say so (the answer's lexical_only).
            _log.warning("vector search failed; recall is lexical only", extra={"error": repr(exc)})
            return None
        return [(UUID(hit.id), hit.score) for hit in hits]

    async def _similarities(self, vector: list[float], ids: Sequence[UUID]) -> dict[UUID, float | None] | None:
        """Cosine to the query of candidates the vector search did not return, from their stored vectors
        (never embedded again: with an API embedder that would be a paid call per candidate); None when
        the vectors could not be read."""
        if not ids:
            return {}
        try:
            points = await self.vectors.retrieve(COLLECTION, [str(key) for key in ids])
        except (VectorStoreError, OSError) as exc:
            _log.warning("vector retrieve failed; lexical candidates lack a dense score", extra={"error": repr(exc)})
            return None
        scores = cosines(vector, [point.vector for point in points])
        return {UUID(point.id): score for point, score in zip(points, scores, strict=True)}

    def _weights(self, row: MemoryRow, scope: RecallScope) -> tuple[float, float]:
        """The row's recency and importance multipliers."""
        settings = self.settings
        recency = recency_weight(
            row.created_at, scope.now, half_life_days=settings.recency_half_life_days, floor=settings.recency_floor
        )
        return recency, importance_weight(row.importance, weight=settings.importance_weight)

    async def _diversify(
        self, pool: Sequence[ScoredMemory], *, limit: int, lambda_: float
    ) -> list[ScoredMemory] | None:
        """MMR over the pool; None when the pool's vectors could not be read."""
        try:
            points = await self.vectors.retrieve(COLLECTION, [str(s.row.id) for s in pool])
        except (VectorStoreError, OSError) as exc:
            _log.warning("vector retrieve failed; recall is not diversified", extra={"error": repr(exc)})
            return None
        vectors = {UUID(p.id): p.vector for p in points}
        return mmr(
            pool, relevance=lambda s: s.final, vector=lambda s: vectors.get(s.row.id), limit=limit, lambda_=lambda_
        )

    async def cached(self, user_id: str, request: dict[str, Any]) -> CacheEntry:
        """The cache entry of this request, if one was stored since the user's memories last changed.

        The user's generation (bumped in Postgres with every write) is read together with the entry, which
        holds the generation it was computed at: a write invalidates every cached recall of the user at
        once, even one stored while Valkey was unreachable for the write.
        """
        digest = hashlib.sha256(json.dumps(request, sort_keys=True, default=str).encode()).hexdigest()[:32]
        key = f"recall:{user_id}:{digest}"
        generation, stored = await asyncio.gather(self.store.generation(user_id), self.cache.get(key))
        entry = CacheEntry(key=key, generation=generation)
        if stored is not None:
            stored_generation, _, payload = stored.partition(b"\n")
            if stored_generation == str(generation).encode():
                return replace(entry, payload=payload)
        return entry

    async def keep(self, entry: CacheEntry, payload: bytes) -> None:
        """Keep `payload` (computed at `entry.generation`) for the next identical request."""
        value = str(entry.generation).encode() + b"\n" + payload
        await self.cache.set(entry.key, value, ttl_seconds=self.settings.recall_cache_ttl_seconds)


def _hit(scored: ScoredMemory, now: datetime) -> RecallHit:
    relevance = scored.relevance
    parts = ScoreParts(
        dense_rank=relevance.dense_rank,
        dense_similarity=relevance.dense_similarity,
        lexical_rank=relevance.lexical_rank,
        lexical_score=relevance.lexical_score,
        relevance=relevance.fused,
        recency=scored.recency,
        importance=scored.importance,
        final=scored.final,
    )
    return RecallHit(memory=memory_read(scored.row, now), score=scored.final, parts=parts)
