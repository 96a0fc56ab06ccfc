"""Create the system's Qdrant collections (idempotent), for operators.

    uv run python qdrant/setup_collections.py [--size N]

Where the collections live comes from the environment, as for the services: `QDRANT_URL` (and
`QDRANT_API_KEY`) for a server, else the embedded engine under `QDRANT_PATH`. Prints one line per
collection, `<name>: created|exists`. Exits 1 when a collection holds vectors of another size, with the
fix (`pma reindex`); exits 2 when the store cannot be reached or opened.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from pma_core.cli.collections import embedder_dimension, ensure_collections
from pma_core.settings import EmbeddingSettings, LLMSettings, QdrantSettings
from pma_core.vectors import VectorSizeMismatchError, VectorStoreError


def resolve_vector_size(requested: int | None) -> int:
    """The vector size to create collections with: `--size`, else the configured embedder's.

    The embedder is the one the memory-gateway will use (EMBEDDING_* settings); an API embedder is
    asked once for its size, the offline hashing embedder knows it (EMBEDDING_HASHING_DIMENSIONS).
    """
    if requested is not None:
        return requested
    _, size = asyncio.run(embedder_dimension(EmbeddingSettings(), LLMSettings()))
    return size


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=None, help="vector size (default: the configured embedder's)")
    args = parser.parse_args(argv)
    size = resolve_vector_size(args.size)
    if size < 1:
        parser.error(f"the vector size must be positive, got {size}")
    try:
        results = asyncio.run(ensure_collections(QdrantSettings(), size=size))
    except VectorSizeMismatchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except VectorStoreError as exc:
        print(f"error: the vector store is unusable: {exc}", file=sys.stderr)
        return 2
    for name, result in results.items():
        print(f"{name}: {result}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
