"""The vector-store port, its two adapters (embedded Qdrant edge, Qdrant client) and collection setup.

The qdrant-client adapter lives in `pma_core.vectors.qdrant_server` and is imported only when
QDRANT_URL is set (it costs ~55 MB of memory the embedded default never needs).
"""

from pma_core.vectors.collections import COLLECTION_NAMES, Collection, setup_collections
from pma_core.vectors.edge import EdgeVectorStore
from pma_core.vectors.factory import open_vector_store
from pma_core.vectors.port import (
    CollectionInfo,
    CollectionNotFoundError,
    CollectionSpec,
    Distance,
    EmbedderMismatchError,
    EnsureResult,
    VectorFilter,
    VectorHit,
    VectorPoint,
    VectorSizeMismatchError,
    VectorStore,
    VectorStoreError,
    VectorStoreUnreachableError,
)

__all__ = [
    "COLLECTION_NAMES",
    "Collection",
    "CollectionInfo",
    "CollectionNotFoundError",
    "CollectionSpec",
    "Distance",
    "EdgeVectorStore",
    "EmbedderMismatchError",
    "EnsureResult",
    "VectorFilter",
    "VectorHit",
    "VectorPoint",
    "VectorSizeMismatchError",
    "VectorStore",
    "VectorStoreError",
    "VectorStoreUnreachableError",
    "open_vector_store",
    "setup_collections",
]
