"""The collections the system keeps in the vector store, all of one vector size (the embedder's).

Their names are spelled here once; everything else refers to `Collection` (a `str`, so a member is the
name itself wherever a string is taken).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final

from pma_core.vectors.port import CollectionSpec, EnsureResult, VectorStore


class Collection(StrEnum):
    # Chunks of ingested documents, raw events, memories distilled by agents, and one summary per day.
    DOC_CHUNKS = "doc_chunks"
    EVENTS = "events"
    AGENT_MEMORIES = "agent_memories"
    DAILY_THREADS = "daily_threads"


COLLECTION_NAMES: Final[tuple[str, ...]] = tuple(collection.value for collection in Collection)


async def setup_collections(store: VectorStore, *, size: int, embedder: str | None = None) -> dict[str, EnsureResult]:
    """Create whichever collections are missing, with their payload indexes; safe to run at every start.

    Stops at the first collection whose vector size differs (`VectorSizeMismatchError`) or, given the
    embedder's identity, that is stamped with another embedder (`EmbedderMismatchError`): such vectors
    can never be compared with the new ones, so the collections must be rebuilt with
    `pma reindex --recreate`. A collection without a stamp gets `embedder` ("stamped").
    """
    results: dict[str, EnsureResult] = {}
    for name in COLLECTION_NAMES:
        results[name] = await store.ensure_collection(CollectionSpec(name=name, size=size, embedder=embedder))
    return results
