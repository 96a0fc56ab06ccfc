"""Values passed between the planning domain and its adapters (no SQL or HTTP here)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from planner_engine.domain.drafts import PlanDraft
from pma_core.contracts.insights import EstimateFactorInsight
from pma_core.contracts.library import SopStep
from pma_core.contracts.plans import Recalled, Usage
from pma_core.contracts.tasks import TaskSpec


@dataclass(frozen=True, slots=True)
class NewPlan:
    """Everything stored about a plan besides its tasks."""

    user_id: str
    intent: str
    context: str
    constraints: dict[str, Any]
    due_at: datetime | None
    planner: str
    model: str | None
    template_id: UUID | None
    usage: Usage
    trace_id: str | None
    sop_id: UUID | None
    recalled: Sequence[Recalled]
    warnings: Sequence[str]
    idempotency_key: str | None
    estimate_notes: Sequence[str] = ()


@dataclass(frozen=True, slots=True)
class MemoryContext:
    """What memory recalled for an intent, the observer's active estimate-factor insights (kept apart from
    `recalled`: they reach the estimates and the prompt's estimate accuracy), and what degraded while asking."""

    recalled: list[Recalled] = field(default_factory=list)
    insights: list[EstimateFactorInsight] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class HandOver:
    """The scheduler's run id, or why it could not take the plan now."""

    run_id: UUID | None
    error: str | None


@dataclass(frozen=True, slots=True)
class LLMDraft:
    draft: PlanDraft
    model: str
    usage: Usage
    trace_id: str | None


@dataclass(frozen=True, slots=True)
class SopCandidate:
    """What matching needs of an SOP's current version: its text (matching.embedding_text) and vector."""

    id: UUID
    text: str
    vector: Sequence[float] | None
    embedder: str | None


@dataclass(frozen=True, slots=True)
class SopContent:
    """An SOP version to store, with the vector it is matched by."""

    title: str
    summary: str
    intent: str
    steps: Sequence[SopStep]
    tasks: Sequence[TaskSpec]
    tags: Sequence[str]
    embedding: Sequence[float]
    embedder: str
    source_plan_id: UUID | None = None
