"""The memories' vector index, as the domain's `MemoryIndex` port: rows of `memories` mirrored into Qdrant."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from uuid import UUID

from memory_gateway.adapters.indexer import Indexer
from memory_gateway.adapters.tables import MEMORIES
from pma_core.vectors import VectorFilter, VectorStore, VectorStoreError

_log = logging.getLogger(__name__)

# remember merges into the nearest similar memory: a few neighbours are enough to find it.
_SIMILAR_LIMIT = 3


class MemoryVectorIndex:
    def __init__(self, *, indexer: Indexer, vectors: VectorStore) -> None:
        self.indexer = indexer
        self.vectors = vectors

    async def index(self, ids: Sequence[UUID], *, known: Mapping[UUID, list[float]] | None = None) -> None:
        if ids:
            await self.indexer.index(MEMORIES, await self.indexer.load(MEMORIES, ids), known=known)

    async def remove(self, ids: Sequence[UUID]) -> None:
        await self.indexer.remove(MEMORIES.collection, ids)

    async def similar(self, user_id: str, vector: Sequence[float], *, kind: str, threshold: float) -> list[UUID] | None:
        try:
            hits = await self.vectors.search(
                MEMORIES.collection,
                list(vector),
                flt=VectorFilter(user_id=user_id, kinds=[kind]),
                limit=_SIMILAR_LIMIT,
                score_threshold=threshold,
            )
        except (VectorStoreError, OSError) as exc:
            # Qdrant down or its collection being rebuilt: remember still stores (the repair loop indexes
            # the row later); only the near-duplicate merge is skipped.
            _log.warning("near-duplicate search failed; remember stores without it", extra={"error": repr(exc)})
            return None
        return [UUID(hit.id) for hit in hits]
