"""Memory-gateway settings: the core concerns plus Qdrant and the embedder (it alone opens Qdrant)."""

from __future__ import annotations

from pydantic import Field

from pma_core.settings import CoreSettings, EmbeddingSettings, LLMSettings, QdrantSettings


class Settings(CoreSettings):
    service_name: str = "memory-gateway"
    qdrant: QdrantSettings = Field(default_factory=QdrantSettings)
    embedding: EmbeddingSettings = Field(default_factory=EmbeddingSettings)
    llm: LLMSettings = Field(default_factory=LLMSettings)
