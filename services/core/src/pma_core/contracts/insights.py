"""Insights: durable findings the observer-agent draws from a user's recorded work, kept as memories.

An insight is a memory in the memory-gateway (kind `observation`, source `observer-agent`) whose `key`
names its slot (`insight.estimate_factor.writing`), so a newer finding of the same slot supersedes the
older one, and whose `metadata` is one of the models below. The planner recalls the active ones before
planning and applies them (docs/observer.md, docs/planner.md).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, TypeAdapter

INSIGHT_SOURCE = "observer-agent"
INSIGHT_MEMORY_KIND = "observation"
# An insight needs at least this many finished runs behind it (a median or a sum over fewer is noise).
MIN_INSIGHT_SAMPLES = 5
# The estimate factors an insight may carry: beyond these a finding says more about the data than the work.
MIN_FACTOR, MAX_FACTOR = 0.5, 3.0

InsightTag = Annotated[str, StringConstraints(min_length=1, max_length=50)]


class _Insight(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    window_from: date = Field(description="First local date of the evidence.")
    window_to: date = Field(description="Last local date of the evidence (inclusive).")
    samples: int = Field(ge=MIN_INSIGHT_SAMPLES, description="Finished runs behind the finding.")


class EstimateFactorInsight(_Insight):
    """Work tagged `tag` takes `factor` times its estimate: sum(actual minutes) / sum(estimated minutes)."""

    insight: Literal["estimate_factor"] = "estimate_factor"
    tag: InsightTag
    factor: float = Field(ge=MIN_FACTOR, le=MAX_FACTOR)
    actual_minutes: int = Field(ge=0)
    estimated_minutes: int = Field(gt=0)


class LowOutputHoursInsight(_Insight):
    """Blocks planned in local hours [start_hour, end_hour) mostly go undone (done share below 25 %)."""

    insight: Literal["low_output_hours"] = "low_output_hours"
    start_hour: int = Field(ge=0, le=23)
    end_hour: int = Field(ge=1, le=24)
    done_share: float = Field(ge=0, le=1)


Insight = Annotated[EstimateFactorInsight | LowOutputHoursInsight, Field(discriminator="insight")]
INSIGHT_ADAPTER: TypeAdapter[EstimateFactorInsight | LowOutputHoursInsight] = TypeAdapter(Insight)


def insight_key(insight: EstimateFactorInsight | LowOutputHoursInsight) -> str:
    """The memory slot of an insight: one active finding per kind and subject."""
    if isinstance(insight, EstimateFactorInsight):
        return f"insight.estimate_factor.{insight.tag}"
    return "insight.low_output_hours"
