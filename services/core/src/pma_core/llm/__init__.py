"""LLM access: the OpenAI-compatible client (OpenRouter by default), its guard, and Langfuse tracing."""

from pma_core.llm.client import LLMClient
from pma_core.llm.guard import (
    ModelRequestsForbiddenError,
    ensure_model_requests_allowed,
    is_loopback_host,
    is_loopback_url,
)
from pma_core.llm.tracing import (
    GenerationRecord,
    LangfuseTracer,
    NoopTracer,
    Tracer,
    TraceRecord,
    make_tracer,
)
from pma_core.llm.types import (
    ChatMessage,
    LLMNotConfiguredError,
    LLMOutputInvalidError,
    LLMUsage,
    StructuredResult,
    TextResult,
)

__all__ = [
    "ChatMessage",
    "GenerationRecord",
    "LLMClient",
    "LLMNotConfiguredError",
    "LLMOutputInvalidError",
    "LLMUsage",
    "LangfuseTracer",
    "ModelRequestsForbiddenError",
    "NoopTracer",
    "StructuredResult",
    "TextResult",
    "TraceRecord",
    "Tracer",
    "ensure_model_requests_allowed",
    "is_loopback_host",
    "is_loopback_url",
    "make_tracer",
]
