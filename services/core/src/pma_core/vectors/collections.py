"""The collections the system keeps in the vector store, all of one vector size (the embedder's)."""

from __future__ import annotations

from typing import Final

from pma_core.vectors.port import CollectionSpec, EnsureResult, VectorStore

# Chunks of ingested documents, raw events, memories distilled by agents, and one summary per day.
COLLECTION_NAMES: Final[tuple[str, ...]] = ("doc_chunks", "events", "agent_memories", "daily_threads")


async def setup_collections(store: VectorStore, *, size: int) -> dict[str, EnsureResult]:
    """Create whichever collections are missing, with their payload indexes; safe to run at every start.

    Stops at the first collection whose vector size differs (`VectorSizeMismatchError`): vectors of
    two sizes can never be compared, so that collection must be rebuilt with `pma reindex`.
    """
    results: dict[str, EnsureResult] = {}
    for name in COLLECTION_NAMES:
        results[name] = await store.ensure_collection(CollectionSpec(name=name, size=size))
    return results
