"""Values the LLM client takes and returns, and the errors it raises."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, Literal, TypeVar

from pydantic import BaseModel

from pma_core.errors import UnavailableError, UpstreamError

T = TypeVar("T", bound=BaseModel)

Role = Literal["system", "user", "assistant"]


@dataclass(frozen=True, slots=True)
class ChatMessage:
    """One chat turn; the client turns these into the OpenAI wire format."""

    role: Role
    content: str

    @classmethod
    def system(cls, content: str) -> ChatMessage:
        """A system turn (instructions)."""
        return cls("system", content)

    @classmethod
    def user(cls, content: str) -> ChatMessage:
        """A user turn."""
        return cls("user", content)

    @classmethod
    def assistant(cls, content: str) -> ChatMessage:
        """An assistant turn (e.g. a few-shot example answer)."""
        return cls("assistant", content)


@dataclass(frozen=True, slots=True)
class LLMUsage:
    """Tokens and cost of one or more model calls; `cost_usd` is None when the provider gave none."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    cost_usd: float | None = None

    def __add__(self, other: LLMUsage) -> LLMUsage:
        # A cost known for only some attempts is still the best figure we have: sum what is known.
        costs = [c for c in (self.cost_usd, other.cost_usd) if c is not None]
        return LLMUsage(
            prompt_tokens=self.prompt_tokens + other.prompt_tokens,
            completion_tokens=self.completion_tokens + other.completion_tokens,
            total_tokens=self.total_tokens + other.total_tokens,
            cost_usd=sum(costs) if costs else None,
        )


@dataclass(frozen=True, slots=True)
class StructuredResult(Generic[T]):
    """A validated structured answer and what it took to get it (summed over the repair attempt)."""

    value: T
    model: str
    usage: LLMUsage
    attempts: int
    repaired: bool
    trace_id: str | None


@dataclass(frozen=True, slots=True)
class TextResult:
    """A free-text answer."""

    text: str
    model: str
    usage: LLMUsage
    trace_id: str | None


class LLMNotConfiguredError(UnavailableError):
    """No API key for a remote provider: callers with an offline path should take it."""

    code = "llm_not_configured"


class LLMOutputInvalidError(UpstreamError):
    """The model's output stayed invalid (not JSON, or not the schema) after the repair attempt."""

    code = "llm_output_invalid"
