"""memory-gateway client: event logging and similar_events."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

from pma_core.clients.base import ServiceClient
from pma_core.contracts.events import (
    EventBatchCreate,
    EventBatchRead,
    EventCreate,
    EventListQuery,
    EventListRead,
    EventLogRead,
    EventRead,
    SimilarEventsRead,
    SimilarEventsRequest,
)


class EventsClient(ServiceClient):
    """The memory-gateway's event logging and similar_events operations."""

    async def log_event(self, event: EventCreate) -> EventLogRead:
        """Log one event; `outcome` says whether it was created or replayed.

        The call always carries an idempotency key (the event's own, or one minted here), so a retry after
        a lost response replays the stored event instead of logging it twice.
        """
        key = event.idempotency_key or f"client:{uuid.uuid4()}"
        response = await self.request(
            "POST", "/v1/events", json=event.model_dump(mode="json", exclude_none=True), idempotency_key=key
        )
        return EventLogRead.model_validate(response.json())

    async def log_events(self, batch: EventBatchCreate) -> list[EventLogRead]:
        """Log up to 100 events in one transaction, all or none; retried safely like `log_event`."""
        response = await self.request(
            "POST",
            "/v1/events/batch",
            json=batch.model_dump(mode="json", exclude_none=True),
            idempotency_key=f"client:{uuid.uuid4()}",
        )
        return EventBatchRead.model_validate(response.json()).results

    async def get_event(self, user_id: str, event_id: UUID) -> EventRead:
        response = await self.request("GET", f"/v1/events/{event_id}", params={"user_id": user_id})
        return EventRead.model_validate(response.json())

    async def list_events(
        self,
        user_id: str,
        *,
        types: Sequence[str] | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 50,
    ) -> list[EventRead]:
        """The user's events, newest first, of these types, occurred in `[since, until)`."""
        query = EventListQuery(
            user_id=user_id, types=list(types) if types else None, since=since, until=until, limit=limit
        )
        response = await self.request("GET", "/v1/events", params=query.model_dump(mode="json", exclude_none=True))
        return EventListRead.model_validate(response.json()).events

    async def similar_events(self, request: SimilarEventsRequest) -> SimilarEventsRead:
        response = await self.request("POST", "/v1/similar_events", json=request.model_dump(mode="json"))
        return SimilarEventsRead.model_validate(response.json())
