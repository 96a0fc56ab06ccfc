"""Pick the vector store the settings describe."""

from __future__ import annotations

from pma_core.settings import QdrantSettings
from pma_core.vectors.edge import EdgeVectorStore
from pma_core.vectors.port import VectorStore


def open_vector_store(settings: QdrantSettings) -> VectorStore:
    """A Qdrant server when `url` is set, else the embedded engine under `path` (created if missing).

    Nothing is contacted or loaded here: the server is first called by `ping()`/`ensure_collection`,
    and embedded shards are opened on first use.
    """
    if settings.url:
        # Imported here: qdrant-client costs ~55 MB of memory that the embedded default never needs.
        from pma_core.vectors.qdrant_server import QdrantClientVectorStore

        api_key = settings.api_key.get_secret_value() if settings.api_key is not None else None
        return QdrantClientVectorStore(url=settings.url, api_key=api_key, timeout=settings.timeout_seconds)
    settings.path.mkdir(parents=True, exist_ok=True)
    return EdgeVectorStore(settings.path)
