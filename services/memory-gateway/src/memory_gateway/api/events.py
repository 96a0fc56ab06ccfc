"""The event log over HTTP: log one or a batch, get, list, and similar_events."""

from __future__ import annotations

import time
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Response, status

from memory_gateway.deps import EventsDep, SimilarEventsDep
from memory_gateway.domain.events import SimilarEventsSearch, log_events
from memory_gateway.domain.models import EventWindow
from pma_core.app.params import IdempotencyKeyHeader, UserQuery, with_batch_keys, with_header_key
from pma_core.app.schemas import error_responses
from pma_core.contracts.events import (
    EventBatchCreate,
    EventBatchRead,
    EventCreate,
    EventItem,
    EventListQuery,
    EventListRead,
    EventLogRead,
    EventRead,
    SimilarEventsRead,
    SimilarEventsRequest,
)
from pma_core.errors import NotFoundError

router = APIRouter(prefix="/v1", tags=["events"])


@router.post(
    "/events",
    response_model=EventLogRead,
    responses={status.HTTP_201_CREATED: {"model": EventLogRead, "description": "A new event: created"}},
    summary="log an event (idempotent with a key)",
)
async def log_event(
    body: EventCreate, events: EventsDep, response: Response, key: IdempotencyKeyHeader = None
) -> EventLogRead:
    """201 when the event was created; 200 when an event with the same idempotency key (the body's
    `idempotency_key`, or else the `Idempotency-Key` header) already existed: that event is returned."""
    item = with_header_key(EventItem.model_validate(body.model_dump(exclude={"user_id"})), key)
    (result,) = await log_events(events, body.user_id, [item])
    response.status_code = status.HTTP_201_CREATED if result.outcome == "created" else status.HTTP_200_OK
    return result


@router.post("/events/batch", response_model=EventBatchRead, summary="log up to 100 events in one transaction")
async def log_event_batch(
    body: EventBatchCreate, events: EventsDep, key: IdempotencyKeyHeader = None
) -> EventBatchRead:
    """All or nothing. With an `Idempotency-Key` header K, an item without its own key gets `K:<index>`,
    so a retried batch replays instead of logging its events twice."""
    return EventBatchRead(results=await log_events(events, body.user_id, with_batch_keys(body.events, key)))


@router.get("/events", response_model=EventListRead, summary="list events, newest first")
async def list_events(query: Annotated[EventListQuery, Query()], events: EventsDep) -> EventListRead:
    """Filter by `types` (repeat the parameter or comma-separate), `since` (inclusive), `until` (exclusive)."""
    return EventListRead(events=await events.list_events(query))


# `:uuid`: only an id is an event, so GET /v1/events/batch is the 405 it is (batch takes POST), not a 422.
@router.get(
    "/events/{event_id:uuid}", response_model=EventRead, responses=error_responses(404), summary="get one event"
)
async def get_event(event_id: UUID, user_id: UserQuery, events: EventsDep) -> EventRead:
    event = await events.get(user_id, event_id)
    if event is None:
        raise NotFoundError(f"event {event_id} not found", details={"id": str(event_id)})
    return event


@router.post(
    "/similar_events",
    response_model=SimilarEventsRead,
    responses=error_responses(404, 502),
    summary="similar_events: hybrid, explained",
)
async def similar_events(body: SimilarEventsRequest, similar: SimilarEventsDep) -> SimilarEventsRead:
    """Events like `event_id` (that event is left out) or like `text`, best first, within the filters.
    404 for an event that is not the user's; 502 when the embedder fails."""
    started = time.perf_counter()
    window = EventWindow(
        types=tuple(body.event_types) if body.event_types else None,
        after=body.occurred_after,
        before=body.occurred_before,
    )
    search = SimilarEventsSearch(
        user_id=body.user_id, window=window, limit=body.limit, event_id=body.event_id, text=body.text
    )
    found = await similar.find(search)
    took_ms = round((time.perf_counter() - started) * 1000, 3)
    return SimilarEventsRead(hits=found.hits, lexical_only=found.lexical_only, took_ms=took_ms)
