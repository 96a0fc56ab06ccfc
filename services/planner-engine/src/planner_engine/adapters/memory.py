"""What the planner asks of the memory-gateway, through its typed client: context before planning, and the
`plan.created` event after. Memory informs a plan but never blocks one: a slow or down gateway yields an
empty context and a warning, and the event is retried by the hand-over sweep until it lands (its
idempotency key makes the retries safe).

The context includes the observer-agent's active estimate-factor insights (pma_core.contracts.insights):
one recall filtered to them, whose filters make the gateway answer only with such memories. They go to
the estimates, not to `recalled`; one whose metadata is not an insight is left out and logged.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from uuid import UUID

from pydantic import ValidationError

from planner_engine.domain.models import MemoryContext
from pma_core.clients import MemoryGatewayClient
from pma_core.contracts.events import EventCreate, SimilarEventsRequest
from pma_core.contracts.insights import INSIGHT_ADAPTER, INSIGHT_MEMORY_KIND, INSIGHT_SOURCE, EstimateFactorInsight
from pma_core.contracts.memory import MemoryRead, RecallFilters, RecallHit
from pma_core.contracts.plans import PlanRead, Recalled
from pma_core.errors import AppError

_log = logging.getLogger(__name__)
# A user has one active insight per tag (its memory slot), so this is more tags than anyone plans with.
INSIGHT_LIMIT = 50
_INSIGHTS = RecallFilters(
    kinds=[INSIGHT_MEMORY_KIND], sources=[INSIGHT_SOURCE], metadata={"insight": "estimate_factor"}
)


class PlannerMemory:
    def __init__(self, client: MemoryGatewayClient, *, timeout_seconds: float, limit: int) -> None:
        self._client = client
        self._timeout = timeout_seconds
        self._limit = limit

    async def context(self, user_id: str, intent: str) -> MemoryContext:
        """Preferences, other relevant memories and similar past plans, best first, and the active insights;
        never raises."""
        try:
            async with asyncio.timeout(self._timeout):
                preferences, memories, insights, plans = await asyncio.gather(
                    self._client.recall(
                        user_id, intent, limit=self._limit, filters=RecallFilters(kinds=["preference"])
                    ),
                    self._client.recall(user_id, intent, limit=self._limit),
                    self._client.recall(user_id, intent, limit=INSIGHT_LIMIT, filters=_INSIGHTS),
                    self._client.similar_events(
                        SimilarEventsRequest(
                            user_id=user_id, text=intent, event_types=["plan.created"], limit=min(3, self._limit)
                        )
                    ),
                )
        except (AppError, TimeoutError) as exc:
            reason = "timed out" if isinstance(exc, TimeoutError) else exc.message
            _log.warning("memory context unavailable for %s: %s", user_id, reason)
            return MemoryContext(warnings=[f"memory-gateway unavailable ({reason}): planned without recalled context"])
        seen: set[str] = set()
        recalled: list[Recalled] = []
        for hit in [*preferences.hits, *memories.hits]:
            if hit.memory.text not in seen and not _is_insight(hit.memory):
                seen.add(hit.memory.text)
                recalled.append(Recalled(kind=hit.memory.kind, text=hit.memory.text, score=hit.score))
        recalled += [Recalled(kind="past_plan", text=hit.event.subject, score=hit.score) for hit in plans.hits]
        # An insight the general recall found is one of these too (unless the filtered recall was cut short).
        found = _insights([*insights.hits, *(hit for hit in memories.hits if _is_insight(hit.memory))], user_id)
        warnings = []
        if any(answer.lexical_only for answer in (preferences, memories, insights, plans)):
            # Memories (and insights) that share no word with the intent were not found: say so, as for a
            # gateway that did not answer at all.
            warnings.append("memory-gateway's vector search failed: context recalled by matching words only")
        return MemoryContext(recalled=recalled, insights=found, warnings=warnings)

    async def record_plan_created(self, plan: PlanRead) -> bool:
        """Log `plan.created`; False (and a warning in the log) when the gateway cannot take it now."""
        how = "offline" if plan.planned_offline else "by the LLM"
        event = EventCreate(
            user_id=plan.user_id,
            event_type="plan.created",
            actor="planner-engine",
            source="planner-engine",
            subject=plan.intent[:1000],
            summary=f"{plan.sop.title}: {len(plan.tasks)} tasks, planned {how}",
            payload={
                "plan_id": str(plan.id),
                "tasks": len(plan.tasks),
                "estimate_minutes": sum(task.estimate_minutes for task in plan.tasks),
                "planner": plan.planner,
                "based_on": plan.based_on.model_dump(mode="json") if plan.based_on else None,
            },
            occurred_at=plan.created_at,
            idempotency_key=f"plan.created:{plan.id}",
        )
        try:
            async with asyncio.timeout(self._timeout):
                await self._client.log_event(event)
        except (AppError, TimeoutError) as exc:
            _log.warning("plan.created for %s not recorded yet: %s", plan.id, exc)
            return False
        return True


def _is_insight(memory: MemoryRead) -> bool:
    """An estimate-factor insight's memory, as the observer writes it (it reaches the plan as an insight)."""
    return (
        memory.kind == INSIGHT_MEMORY_KIND
        and memory.source == INSIGHT_SOURCE
        and memory.metadata.get("insight") == "estimate_factor"
    )


def _insights(hits: Iterable[RecallHit], user_id: str) -> list[EstimateFactorInsight]:
    """The hits' insights, once each; a memory whose metadata is no valid insight is skipped and logged."""
    found: list[EstimateFactorInsight] = []
    seen: set[UUID] = set()
    for hit in hits:
        if hit.memory.id in seen:
            continue
        seen.add(hit.memory.id)
        try:
            insight = INSIGHT_ADAPTER.validate_python(hit.memory.metadata)
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
            _log.warning("ignoring insight memory %s of %s: %s", hit.memory.id, user_id, problems)
            continue
        if isinstance(insight, EstimateFactorInsight):
            found.append(insight)
    return found
