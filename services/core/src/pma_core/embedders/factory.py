"""Pick, start and return the configured embedder."""

from __future__ import annotations

from pma_core.embedders.fastembed_local import FastEmbedEmbedder
from pma_core.embedders.hashing import HashingEmbedder
from pma_core.embedders.port import Embedder
from pma_core.settings import EmbeddingSettings, LLMSettings


def make_embedder(settings: EmbeddingSettings, llm: LLMSettings) -> Embedder:
    """The embedder `settings.resolved_provider()` names, not yet started."""
    provider = settings.resolved_provider()
    if provider == "openai":
        # Imported here: the openai SDK costs ~25 MB of memory that the offline default never needs.
        from pma_core.embedders.openai_compat import OpenAICompatibleEmbedder

        return OpenAICompatibleEmbedder(settings, llm)
    if provider == "fastembed":
        return FastEmbedEmbedder(settings.fastembed_model)
    return HashingEmbedder(settings.hashing_dimensions)


async def open_embedder(settings: EmbeddingSettings, llm: LLMSettings) -> Embedder:
    """The configured embedder, started (so its `dimension` is known); closed again if start fails."""
    embedder = make_embedder(settings, llm)
    try:
        await embedder.start()
    except BaseException:
        await embedder.close()
        raise
    return embedder
