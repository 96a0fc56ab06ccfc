"""Create the Qdrant collections with the vector size of the configured embedder."""

from __future__ import annotations

from pma_core.embedders import open_embedder
from pma_core.settings import EmbeddingSettings, LLMSettings, QdrantSettings
from pma_core.vectors import open_vector_store, setup_collections


async def embedder_dimension(embedding: EmbeddingSettings, llm: LLMSettings) -> tuple[str, int]:
    """The configured embedder's name and vector size (an API embedder is asked once)."""
    embedder = await open_embedder(embedding, llm)
    try:
        return embedder.name, embedder.dimension
    finally:
        await embedder.close()


async def ensure_collections(qdrant: QdrantSettings, *, size: int) -> dict[str, str]:
    """Create missing collections (idempotent); a size mismatch raises, naming `pma reindex`."""
    store = open_vector_store(qdrant)
    try:
        return dict(await setup_collections(store, size=size))
    finally:
        await store.close()
