"""Memory-gateway settings: the core concerns plus Qdrant, the embedder, memory tuning and mem0."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings

from pma_core.settings import CoreSettings, EmbeddingSettings, LLMSettings, QdrantSettings, settings_config


class MemorySettings(BaseSettings):
    model_config = settings_config("MEMORY_")

    # A new memory this similar (cosine) to an active one of the same user and kind updates it instead.
    dedupe_similarity: float = Field(default=0.95, gt=0, le=1)
    # Each retriever (vector search, full-text search) brings this many candidates. recall fuses their
    # scores (each scaled by the best candidate's); search_docs and similar_events fuse their ranks by
    # reciprocal rank fusion, with k as in the RRF paper.
    candidates: int = Field(default=50, ge=10, le=500)
    rrf_k: int = Field(default=60, ge=1)
    # Recency multiplier halves every this many days; importance multiplier is (1 - w) + w * importance.
    recency_half_life_days: float = Field(default=30.0, gt=0)
    recency_floor: float = Field(default=0.5, ge=0, le=1)
    importance_weight: float = Field(default=0.5, ge=0, le=1)
    recall_cache_ttl_seconds: int = Field(default=300, ge=1)
    # Rows whose Qdrant write failed are retried this often (seconds).
    index_repair_interval_seconds: float = Field(default=30.0, gt=0)
    # A reindex cannot start again this soon after the last one finished (seconds; 0: no pause). Each one
    # rewrites every vector, which the embedded engine's write-ahead log keeps until it compacts.
    reindex_cooldown_seconds: float = Field(default=300.0, ge=0)
    # Short-term memory: turns kept per session, and how long an idle session lives (seconds).
    session_max_turns: int = Field(default=50, ge=2, le=1000)
    session_ttl_seconds: int = Field(default=86_400, ge=60)


class Mem0Settings(BaseSettings):
    model_config = settings_config("MEM0_")

    # With a key set, remember also writes to mem0's platform and recall can merge its hits.
    api_key: SecretStr | None = None
    base_url: str = "https://api.mem0.ai"
    timeout_seconds: float = Field(default=1.5, gt=0)

    @property
    def enabled(self) -> bool:
        return self.api_key is not None


class Settings(CoreSettings):
    service_name: str = "memory-gateway"
    qdrant: QdrantSettings = Field(default_factory=QdrantSettings)
    embedding: EmbeddingSettings = Field(default_factory=EmbeddingSettings)
    llm: LLMSettings = Field(default_factory=LLMSettings)
    memory: MemorySettings = Field(default_factory=MemorySettings)
    mem0: Mem0Settings = Field(default_factory=Mem0Settings)
