"""What the observer writes to the memory-gateway: each reflection as a daily thread (for "days like this
one"), and each insight as a memory in its slot (a newer finding supersedes the older one)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence

from observer_agent.domain.insights import describe
from pma_core.clients import MemoryGatewayClient
from pma_core.contracts.daily_threads import DailyThreadUpsert, SimilarDaysRequest
from pma_core.contracts.insights import INSIGHT_MEMORY_KIND, INSIGHT_SOURCE, insight_key
from pma_core.contracts.memory import MemoryCreate
from pma_core.contracts.reflections import DailyMetrics, Insight, ReflectionKind, ReflectionRead

MAX_THREAD_CHARS = 16_000


def thread_key(reflection: ReflectionRead) -> str:
    return f"{reflection.period}|{reflection.kind}"


def thread_text(reflection: ReflectionRead) -> str:
    """The words a similar day shares: the narrative, and the titles of what was carried or slipped."""
    narrative = reflection.narrative
    metrics = reflection.metrics
    parts = [
        narrative.summary,
        *narrative.wins,
        *narrative.blockers,
        narrative.slipped,
        *(f"{s.text} ({s.evidence})" for s in narrative.suggestions),
        *(f"carried over: {c.title}" for c in metrics.carry_overs),
        *(f"slipped: {s.title}" for s in metrics.slipped_deadlines),
    ]
    return "\n".join(part for part in parts if part)[:MAX_THREAD_CHARS]


def _figures(reflection: ReflectionRead) -> dict[str, object]:
    metrics = reflection.metrics
    figures = metrics if isinstance(metrics, DailyMetrics) else metrics.totals
    return {
        "tasks_planned": figures.tasks_planned,
        "tasks_done": figures.tasks_done,
        "planned_minutes": figures.planned_minutes,
        "actual_minutes": figures.actual_minutes,
        "estimate_accuracy": figures.estimate_accuracy.ratio,
        "reflection_id": str(reflection.id),
        "revision": reflection.revision,
    }


class GatewayReflectionMemory:
    def __init__(self, client: MemoryGatewayClient) -> None:
        self._client = client

    async def index(self, reflection: ReflectionRead) -> None:
        await self._client.upsert_daily_thread(
            DailyThreadUpsert(
                user_id=reflection.user_id,
                key=thread_key(reflection),
                kind=reflection.kind,
                period_start=reflection.period_start,
                period_end=reflection.period_end,
                text=thread_text(reflection),
                metadata=_figures(reflection),
            )
        )

    async def remember(self, reflection: ReflectionRead, insights: Sequence[Insight]) -> None:
        """Each insight in its slot. The idempotency key is the finding itself, so a retried call (or a
        rerun that found the same) never stores it twice, and a different finding supersedes it."""
        for insight in insights:
            metadata = insight.model_dump(mode="json")
            digest = hashlib.sha256(json.dumps(metadata, sort_keys=True).encode()).hexdigest()[:32]
            await self._client.remember(
                MemoryCreate(
                    user_id=reflection.user_id,
                    text=describe(insight),
                    kind=INSIGHT_MEMORY_KIND,
                    key=insight_key(insight),
                    source=INSIGHT_SOURCE,
                    metadata=metadata | {"reflection": reflection.key},
                    importance=0.8,
                    idempotency_key=f"insight:{insight_key(insight)}:{digest}",
                )
            )

    async def similar(self, reflection: ReflectionRead, *, limit: int) -> list[tuple[ReflectionKind, str, float]]:
        found = await self._client.similar_days(
            SimilarDaysRequest(user_id=reflection.user_id, key=thread_key(reflection), limit=limit)
        )
        return [(hit.thread.kind, hit.thread.key.rpartition("|")[0], hit.score) for hit in found.hits]
