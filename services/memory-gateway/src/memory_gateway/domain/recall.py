"""recall: hybrid retrieval over a user's memories, explained and cached.

Dense candidates come from Qdrant, lexical ones from Postgres full-text search; reciprocal rank fusion
combines them, then recency and importance weigh the fused score; MMR optionally re-ranks for diversity.
Every candidate is re-read from Postgres with the request's filters, so the index can lag or hold
superseded points and recall still answers only with what the filters allow.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from uuid import UUID

from memory_gateway.domain.models import MemoryRow, RecallScope
from memory_gateway.domain.ranking import Fused, importance_weight, mmr, recency_weight, rrf_fuse
from pma_core.vectors import VectorFilter, VectorStoreError

_log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from memory_gateway.adapters.memories import MemoryRepository
    from memory_gateway.settings import MemorySettings
    from pma_core.cache import ValkeyCache
    from pma_core.embedders import Embedder
    from pma_core.vectors import VectorStore

COLLECTION = "agent_memories"


@dataclass(frozen=True)
class ScoredMemory:
    row: MemoryRow
    fused: Fused
    recency: float
    importance: float

    @property
    def final(self) -> float:
        return self.fused.rrf * self.recency * self.importance


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
        repository: MemoryRepository,
        vectors: VectorStore,
        embedder: Embedder,
        cache: ValkeyCache,
        settings: MemorySettings,
    ) -> None:
        self.repository = repository
        self.vectors = vectors
        self.embedder = embedder
        self.cache = cache
        self.settings = settings

    async def recall(self, query: RecallQuery) -> list[ScoredMemory]:
        """The best `limit` memories for the query, best first."""
        (vector,) = await self.embedder.embed([query.text])
        dense = await self._dense(query.scope, vector)
        lexical = await self.repository.lexical(query.scope, query.text, limit=self.settings.candidates)
        fused = rrf_fuse(dense, lexical, k=self.settings.rrf_k)
        rows = await self.repository.in_scope(query.scope, list(fused))
        scored = sorted((self._score(row, fused[row.id], query.scope) for row in rows), key=lambda s: -s.final)
        if not query.mmr:
            return scored[: query.limit]
        return await self._diversify(scored, limit=query.limit, lambda_=query.mmr_lambda)

    async def _dense(self, scope: RecallScope, vector: list[float]) -> list[tuple[UUID, float]]:
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
            # fail; the hits' parts show dense_rank None, so callers can tell.
            _log.warning("vector search failed; recall is lexical only", extra={"error": repr(exc)})
            return []
        return [(UUID(hit.id), hit.score) for hit in hits]

    def _score(self, row: MemoryRow, fused: Fused, scope: RecallScope) -> ScoredMemory:
        settings = self.settings
        recency = recency_weight(
            row.created_at, scope.now, half_life_days=settings.recency_half_life_days, floor=settings.recency_floor
        )
        return ScoredMemory(row, fused, recency, importance_weight(row.importance, weight=settings.importance_weight))

    async def _diversify(self, scored: Sequence[ScoredMemory], *, limit: int, lambda_: float) -> list[ScoredMemory]:
        pool = list(scored[: max(limit * 3, limit)])
        points = await self.vectors.retrieve(COLLECTION, [str(s.row.id) for s in pool])
        vectors = {UUID(p.id): p.vector for p in points}
        return mmr(
            pool, relevance=lambda s: s.final, vector=lambda s: vectors.get(s.row.id), limit=limit, lambda_=lambda_
        )

    async def cached(self, user_id: str, request: dict[str, Any]) -> tuple[str, bytes | None]:
        """The cache key for this request (current generation of the user's memories) and its entry."""
        generation = await self.repository.generation(user_id)
        digest = hashlib.sha256(json.dumps(request, sort_keys=True, default=str).encode()).hexdigest()[:32]
        key = f"recall:{user_id}:{generation}:{digest}"
        return key, await self.cache.get(key)

    async def store(self, key: str, payload: bytes) -> None:
        await self.cache.set(key, payload, ttl_seconds=self.settings.recall_cache_ttl_seconds)


def elapsed_ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 3)
