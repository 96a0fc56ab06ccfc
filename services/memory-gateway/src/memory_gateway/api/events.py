"""The event log over HTTP: log one or a batch, get, list, and similar_events."""

from __future__ import annotations

import time
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Header, Query, Response, status

from memory_gateway.adapters.events import EventRepository, EventVectors
from memory_gateway.deps import StateDep
from memory_gateway.domain.events import EventWindow, SimilarEvents, SimilarEventsSearch, SimilarityTuning, log_events
from pma_core.contracts.common import IdempotencyKey, UserId
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
from pma_core.errors import NotFoundError, ValidationFailedError

router = APIRouter(prefix="/v1", tags=["events"])
UserQuery = Annotated[UserId, Query(description="The event's owner: every call is scoped to one user.")]
KeyHeader = Annotated[
    IdempotencyKey | None,
    Header(alias="Idempotency-Key", description="Makes a retried POST safe; see each operation."),
]


def event_repository(state: StateDep) -> EventRepository:
    return EventRepository(state.pool, state.indexer)


def similar_events_service(state: StateDep) -> SimilarEvents:
    tuning = state.settings.memory
    return SimilarEvents(
        finder=EventRepository(state.pool, state.indexer),
        neighbours=EventVectors(state.vectors, state.embedder),
        tuning=SimilarityTuning(
            candidates=tuning.candidates,
            rrf_k=tuning.rrf_k,
            half_life_days=tuning.recency_half_life_days,
            recency_floor=tuning.recency_floor,
        ),
    )


Events = Annotated[EventRepository, Depends(event_repository)]
Similar = Annotated[SimilarEvents, Depends(similar_events_service)]


def _keyed(item: EventItem, header_key: str | None, *, field: str) -> EventItem:
    """The item with the Idempotency-Key header as its key when the body gives none; both must agree."""
    if header_key is None or item.idempotency_key == header_key:
        return item
    if item.idempotency_key is None:
        return item.model_copy(update={"idempotency_key": header_key})
    raise ValidationFailedError(
        f"invalid request: {field}: the Idempotency-Key header and the body's idempotency_key differ",
        details=[{"field": field, "message": "differs from the Idempotency-Key header", "type": "key_mismatch"}],
    )


@router.post("/events", response_model=EventLogRead, summary="log an event (idempotent with a key)")
async def log_event(body: EventCreate, events: Events, response: Response, key: KeyHeader = None) -> EventLogRead:
    """201 when the event was created; 200 when an event with the same idempotency key (the body's
    `idempotency_key`, or else the `Idempotency-Key` header) already existed: that event is returned."""
    item = _keyed(EventItem.model_validate(body.model_dump(exclude={"user_id"})), key, field="body.idempotency_key")
    (result,) = await log_events(events, body.user_id, [item])
    response.status_code = status.HTTP_201_CREATED if result.outcome == "created" else status.HTTP_200_OK
    return result


@router.post("/events/batch", response_model=EventBatchRead, summary="log up to 100 events in one transaction")
async def log_event_batch(body: EventBatchCreate, events: Events, key: KeyHeader = None) -> EventBatchRead:
    """All or nothing. With an `Idempotency-Key` header K, an item without its own key gets `K:<index>`,
    so a retried batch replays instead of logging its events twice."""
    items = [
        item if key is None or item.idempotency_key else item.model_copy(update={"idempotency_key": f"{key}:{i}"})
        for i, item in enumerate(body.events)
    ]
    return EventBatchRead(results=await log_events(events, body.user_id, items))


@router.get("/events", response_model=EventListRead, summary="list events, newest first")
async def list_events(query: Annotated[EventListQuery, Query()], events: Events) -> EventListRead:
    """Filter by `types` (repeat the parameter or comma-separate), `since` (inclusive), `until` (exclusive)."""
    return EventListRead(events=await events.list_events(query))


@router.get("/events/{event_id}", response_model=EventRead, summary="get one event")
async def get_event(event_id: UUID, user_id: UserQuery, events: Events) -> EventRead:
    event = await events.get(user_id, event_id)
    if event is None:
        raise NotFoundError(f"event {event_id} not found", details={"id": str(event_id)})
    return event


@router.post("/similar_events", response_model=SimilarEventsRead, summary="similar_events: hybrid, explained")
async def similar_events(body: SimilarEventsRequest, similar: Similar) -> SimilarEventsRead:
    """Events like `event_id` (that event is left out) or like `text`, best first, within the filters."""
    started = time.perf_counter()
    window = EventWindow(
        types=tuple(body.event_types) if body.event_types else None,
        after=body.occurred_after,
        before=body.occurred_before,
    )
    search = SimilarEventsSearch(
        user_id=body.user_id, window=window, limit=body.limit, event_id=body.event_id, text=body.text
    )
    hits = await similar.find(search)
    return SimilarEventsRead(hits=hits, took_ms=round((time.perf_counter() - started) * 1000, 3))
