"""What the planner asks of the memory-gateway, through its typed client: context before planning, and the
`plan.created` event after. Memory informs a plan but never blocks one: a slow or down gateway yields an
empty context and a warning, and the event is retried by the hand-over sweep until it lands (its
idempotency key makes the retries safe).
"""

from __future__ import annotations

import asyncio
import logging

from planner_engine.domain.models import MemoryContext
from pma_core.clients import MemoryGatewayClient
from pma_core.contracts.events import EventCreate, SimilarEventsRequest
from pma_core.contracts.memory import RecallFilters
from pma_core.contracts.plans import PlanRead, Recalled
from pma_core.errors import AppError

_log = logging.getLogger(__name__)


class PlannerMemory:
    def __init__(self, client: MemoryGatewayClient, *, timeout_seconds: float, limit: int) -> None:
        self._client = client
        self._timeout = timeout_seconds
        self._limit = limit

    async def context(self, user_id: str, intent: str) -> MemoryContext:
        """Preferences, other relevant memories and similar past plans, best first; never raises."""
        try:
            async with asyncio.timeout(self._timeout):
                preferences, memories, plans = await asyncio.gather(
                    self._client.recall(
                        user_id, intent, limit=self._limit, filters=RecallFilters(kinds=["preference"])
                    ),
                    self._client.recall(user_id, intent, limit=self._limit),
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
            if hit.memory.text not in seen:
                seen.add(hit.memory.text)
                recalled.append(Recalled(kind=hit.memory.kind, text=hit.memory.text, score=hit.score))
        recalled += [Recalled(kind="past_plan", text=hit.event.subject, score=hit.score) for hit in plans.hits]
        return MemoryContext(recalled=recalled)

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
