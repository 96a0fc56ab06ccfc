"""planner-engine settings: the core concerns plus the LLM, Langfuse, the embedder and planning tuning."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings

from pma_core.settings import CoreSettings, EmbeddingSettings, LangfuseSettings, LLMSettings, settings_config


class PlannerSettings(BaseSettings):
    model_config = settings_config("PLANNER_")

    # A saved SOP scoring at least this (0.6 x cosine + 0.4 x word overlap) is adapted instead of planning anew.
    sop_match_threshold: float = Field(default=0.6, gt=0, le=1)
    # Memory informs planning but never blocks it: recall gives up after this long.
    memory_timeout_seconds: float = Field(default=2.0, gt=0)
    # Memories recalled per query (preferences, and memories in general).
    recall_limit: int = Field(default=5, ge=1, le=20)
    # Hand-overs that did not go through (scheduler or memory down) are retried this often (seconds).
    handover_retry_interval_seconds: float = Field(default=30.0, gt=0)


class Settings(CoreSettings):
    service_name: str = "planner-engine"
    embedding: EmbeddingSettings = Field(default_factory=EmbeddingSettings)
    llm: LLMSettings = Field(default_factory=LLMSettings)
    langfuse: LangfuseSettings = Field(default_factory=LangfuseSettings)
    planner: PlannerSettings = Field(default_factory=PlannerSettings)
