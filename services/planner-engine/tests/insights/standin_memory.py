"""A stand-in for the memory-gateway, in these tests only: the calls the planner makes around planning.

The planner's own tests cannot run the real gateway (each member's tests run with its own dependencies;
the two together are covered in the repository's tests/), so this small FastAPI app serves exactly core's
contract for those calls, over real HTTP, to the planner's real client:

- `POST /v1/recall` validates a `RecallRequest` (422 otherwise) and answers the user's active memories that
  pass its filters (kinds, sources, exact top-level metadata), up to `limit`, those sharing most words with
  the query first. That is what the real gateway answers for a filtered recall whose matches all fit in its
  candidate lists (the planner's insight recall: a handful of insights per user).
- `POST /v1/similar_events` finds no past plans; `POST /v1/events` logs `plan.created`.

Memories are stored as the gateway stores them: a newer one with the same `key` supersedes the older.
`failing` makes recall answer 500, as a gateway whose Postgres is down does.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError

from pma_core.contracts.events import EventCreate, EventLogRead, EventRead, SimilarEventsRead, SimilarEventsRequest
from pma_core.contracts.insights import INSIGHT_SOURCE, EstimateFactorInsight, insight_key
from pma_core.contracts.memory import (
    MemoryKind,
    MemoryRead,
    RecallFilters,
    RecallHit,
    RecallRead,
    RecallRequest,
    ScoreParts,
)
from pma_core.errors import error_body

ModelT = TypeVar("ModelT", bound=BaseModel)


def _words(text: str) -> set[str]:
    return set(re.findall(r"[a-z0-9]+", text.lower()))


def _passes(memory: MemoryRead, user_id: str, filters: RecallFilters) -> bool:
    if memory.user_id != user_id or (memory.status != "active" and not filters.include_superseded):
        return False
    if filters.kinds and memory.kind not in filters.kinds:
        return False
    if filters.sources and memory.source not in filters.sources:
        return False
    return all(memory.metadata.get(name) == value for name, value in (filters.metadata or {}).items())


def _lexical_parts(rank: int, score: float) -> ScoreParts:
    """A hit found by words alone, as the real gateway explains one when its vector search is down."""
    return ScoreParts(
        dense_rank=None, dense_similarity=None, lexical_rank=rank, lexical_score=score, relevance=score,
        recency=1.0, importance=1.0, final=score,
    )  # fmt: skip


@dataclass
class StandInMemory:
    """The stand-in's memories and the recalls it answered; `failing` 500s every recall, `lexical_only` says
    in each recall that the vector search failed (as the gateway does when Qdrant is down)."""

    url: str = ""
    failing: bool = False
    lexical_only: bool = False
    memories: list[MemoryRead] = field(default_factory=list)
    recalls: list[RecallRequest] = field(default_factory=list)
    events: list[EventCreate] = field(default_factory=list)

    def remember(
        self,
        user_id: str,
        text: str,
        *,
        kind: MemoryKind = "fact",
        key: str | None = None,
        source: str = "",
        metadata: dict[str, Any] | None = None,
    ) -> MemoryRead:
        now = datetime.now(UTC)
        memory = MemoryRead(
            id=uuid.uuid4(), user_id=user_id, kind=kind, text=text, key=key, source=source, metadata=metadata or {},
            importance=0.5, status="active", valid_from=now, valid_to=None, superseded_by=None, expires_at=None,
            created_at=now, updated_at=now,
        )  # fmt: skip
        if key is not None:
            update = {"status": "superseded", "valid_to": now, "superseded_by": memory.id}
            self.memories = [
                old.model_copy(update=update) if old.key == key and old.user_id == user_id else old
                for old in self.memories
            ]
        self.memories.append(memory)
        return memory

    def remember_insight(self, user_id: str, insight: EstimateFactorInsight) -> MemoryRead:
        """An insight as the observer-agent writes it (pma_core.contracts.insights)."""
        text = f"{insight.tag} tasks take x{insight.factor:.2f} their estimate ({insight.samples} runs)"
        return self.remember(
            user_id, text, kind="observation", key=insight_key(insight), source=INSIGHT_SOURCE,
            metadata=insight.model_dump(mode="json"),
        )  # fmt: skip

    def insight_recalls(self, user_id: str) -> list[RecallRequest]:
        """The user's recalls that asked for estimate-factor insights."""
        return [
            r for r in self.recalls if r.user_id == user_id and r.filters.metadata == {"insight": "estimate_factor"}
        ]

    def recall(self, request: RecallRequest) -> RecallRead:
        query = _words(request.query)
        scored = [
            (len(query & _words(memory.text)) / max(len(query), 1), memory)
            for memory in self.memories
            if _passes(memory, request.user_id, request.filters)
        ]
        scored.sort(key=lambda pair: -pair[0])
        hits = [
            RecallHit(memory=memory, score=score, parts=_lexical_parts(rank, score))
            for rank, (score, memory) in enumerate(scored[: request.limit], start=1)
        ]
        return RecallRead(hits=hits, cached=False, took_ms=0.1, lexical_only=self.lexical_only)

    def app(self) -> FastAPI:
        app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)

        @app.get("/healthz")
        async def healthz() -> dict[str, str]:
            return {"status": "ok", "service": "memory-gateway", "version": "stand-in"}

        @app.post("/v1/recall")
        async def recall(request: Request) -> JSONResponse:
            body = await _parsed(request, RecallRequest)
            if isinstance(body, JSONResponse):
                return body
            self.recalls.append(body)
            if self.failing:
                return JSONResponse(error_body("internal_error", "the gateway's Postgres is down"), 500)
            return JSONResponse(self.recall(body).model_dump(mode="json"))

        @app.post("/v1/similar_events")
        async def similar_events(request: Request) -> JSONResponse:
            body = await _parsed(request, SimilarEventsRequest)
            if isinstance(body, JSONResponse):
                return body
            return JSONResponse(SimilarEventsRead(hits=[], took_ms=0.1).model_dump(mode="json"))

        @app.post("/v1/events", status_code=201)
        async def log_event(request: Request) -> JSONResponse:
            body = await _parsed(request, EventCreate)
            if isinstance(body, JSONResponse):
                return body
            self.events.append(body)
            now = datetime.now(UTC)
            event = EventRead(
                id=uuid.uuid4(), user_id=body.user_id, event_type=body.event_type, actor=body.actor,
                subject=body.subject, source=body.source, summary=body.summary, payload=body.payload,
                occurred_at=body.occurred_at or now, idempotency_key=body.idempotency_key, created_at=now,
            )  # fmt: skip
            return JSONResponse(EventLogRead(event=event, outcome="created").model_dump(mode="json"), 201)

        return app


async def _parsed(request: Request, model: type[ModelT]) -> ModelT | JSONResponse:
    """The body as `model`, or the 422 the real gateway answers for a body that is not one."""
    try:
        return model.model_validate_json(await request.body())
    except ValidationError as exc:
        details = exc.errors(include_url=False, include_input=False, include_context=False)
        return JSONResponse(error_body("validation_error", f"invalid {model.__name__}", details), 422)
