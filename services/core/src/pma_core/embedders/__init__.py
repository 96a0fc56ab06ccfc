"""Embedders: text to L2-normalised vectors, offline (hashing), local (fastembed) or remote (OpenAI API).

The OpenAI-compatible embedder lives in `pma_core.embedders.openai_compat` and is not imported here,
so a service on the offline default never loads the openai SDK.
"""

from pma_core.embedders.factory import make_embedder, open_embedder
from pma_core.embedders.fastembed_local import FastEmbedEmbedder
from pma_core.embedders.hashing import HashingEmbedder
from pma_core.embedders.port import Embedder, EmbeddingError

__all__ = [
    "Embedder",
    "EmbeddingError",
    "FastEmbedEmbedder",
    "HashingEmbedder",
    "make_embedder",
    "open_embedder",
]
