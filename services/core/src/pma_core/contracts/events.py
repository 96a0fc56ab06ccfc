"""The memory-gateway's event log contract: log events, read and list them, find similar ones.

Events are immutable facts about what happened (`plan.created`, `task.done`, an agent run ...): they are
appended, never updated. Retried writes are made safe by an idempotency key, unique per user.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from pma_core.contracts.common import (
    CLOCK_SKEW,
    IdempotencyKey,
    IsoDatetime,
    QueryModel,
    RequestModel,
    ShortText,
    UserId,
)
from pma_core.contracts.memory import NOT_BLANK, LexicalOnly

# The same pattern the events table checks, so a bad type is a 422 here and never a database error.
EVENT_TYPE_PATTERN = r"^[a-z0-9][a-z0-9_.:-]*$"
MAX_SUMMARY_CHARS = 8_000
MAX_SUBJECT_CHARS = 1_000
MAX_QUERY_CHARS = 2_000
# A payload is structured context (ids, counts, small records), larger than memory metadata (16 KiB) but
# bounded: 64 KiB of compact UTF-8 JSON. A batch is also bounded by the HTTP body limit (1 MiB by default).
MAX_PAYLOAD_BYTES = 65_536
MAX_BATCH = 100
MAX_LIMIT = 100

EventType = Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=EVENT_TYPE_PATTERN)]
Subject = Annotated[str, StringConstraints(strip_whitespace=True, max_length=MAX_SUBJECT_CHARS)]
Summary = Annotated[str, StringConstraints(strip_whitespace=True, max_length=MAX_SUMMARY_CHARS)]
QueryText = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_QUERY_CHARS), NOT_BLANK
]
LogOutcome = Literal["created", "replayed"]


def _bounded_payload(value: dict[str, Any]) -> dict[str, Any]:
    size = len(json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str).encode())
    if size > MAX_PAYLOAD_BYTES:
        raise ValueError(f"payload is {size} bytes as JSON; at most {MAX_PAYLOAD_BYTES} bytes are accepted")
    return value


def _not_in_future(value: datetime) -> datetime:
    if value > datetime.now(UTC) + CLOCK_SKEW:
        minutes = int(CLOCK_SKEW.total_seconds() // 60)
        raise ValueError(f"occurred_at is more than {minutes} minutes in the future: events record what happened")
    return value


def _split_commas(value: Any) -> Any:
    """Accept `types=a&types=b` and `types=a,b` alike (an event type never contains a comma)."""
    if isinstance(value, str):
        value = [value]
    if isinstance(value, list):
        return [part.strip() for item in value for part in str(item).split(",") if part.strip()]
    return value


EventPayload = Annotated[dict[str, Any], AfterValidator(_bounded_payload)]
OccurredAt = Annotated[IsoDatetime, AfterValidator(_not_in_future)]
EventTypes = Annotated[list[EventType], BeforeValidator(_split_commas), Field(min_length=1, max_length=50)]


class _Strict(RequestModel):
    """A request body of this module (unknown fields refused, scalars as JSON typed them)."""


class EventItem(_Strict):
    """One event to log; `user_id` comes from the enclosing request."""

    event_type: EventType = Field(description="Dotted lowercase type, e.g. 'task.done' or 'agent.run:coder'.")
    actor: ShortText = Field(default="", description="Who did it: a person, an agent, a service.")
    subject: Subject = Field(default="", description="What it was about; searched (full text and vectors).")
    source: ShortText = Field(default="", description="Where the event came from (a service, n8n, an agent).")
    summary: Summary = Field(default="", description="What happened, in words; searched like the subject.")
    payload: EventPayload = Field(
        default_factory=dict, description=f"Structured context, at most {MAX_PAYLOAD_BYTES} bytes as JSON."
    )
    occurred_at: OccurredAt | None = Field(
        default=None, description="When it happened (default: now); at most 5 minutes in the future."
    )
    idempotency_key: IdempotencyKey | None = Field(
        default=None, description="A retried call with the same key returns the first event, never a copy."
    )


class EventCreate(EventItem):
    user_id: UserId


class EventBatchCreate(_Strict):
    """Up to 100 events logged in one transaction: all are stored, or none."""

    user_id: UserId
    events: list[EventItem] = Field(min_length=1, max_length=MAX_BATCH)


class EventRead(BaseModel):
    id: UUID
    user_id: str
    event_type: str
    actor: str
    subject: str
    source: str
    summary: str
    payload: dict[str, Any]
    occurred_at: datetime
    idempotency_key: str | None
    created_at: datetime


class EventLogRead(BaseModel):
    event: EventRead
    outcome: LogOutcome = Field(description="created; or replayed (an event with this idempotency key existed)")


class EventBatchRead(BaseModel):
    results: list[EventLogRead]


class EventListQuery(QueryModel):
    """Query parameters of `GET /v1/events`: newest first, within `[since, until)`."""

    user_id: UserId
    types: EventTypes | None = Field(default=None, description="Only these event types (repeat or comma-separate).")
    since: IsoDatetime | None = Field(default=None, description="Events that occurred at or after this moment.")
    until: IsoDatetime | None = Field(
        default=None, description="Events that occurred before this moment; after `since` when both are given."
    )
    limit: int = Field(default=50, ge=1, le=MAX_LIMIT)

    @model_validator(mode="after")
    def _ordered_window(self) -> EventListQuery:
        if self.since and self.until and self.since >= self.until:
            raise ValueError("since must be before until")
        return self


class EventListRead(BaseModel):
    events: list[EventRead]


class SimilarEventsRequest(_Strict):
    """Find events like a given one (`event_id`) or like a text: exactly one of the two."""

    # "Exactly one of event_id or text", in the schema: the other is left out (or null).
    model_config = ConfigDict(
        json_schema_extra={
            "oneOf": [
                {"required": ["event_id"], "properties": {"event_id": {"type": "string"}, "text": {"type": "null"}}},
                {"required": ["text"], "properties": {"text": {"type": "string"}, "event_id": {"type": "null"}}},
            ]
        }
    )

    user_id: UserId
    event_id: UUID | None = Field(default=None, description="An event of this user; it is left out of the hits.")
    text: QueryText | None = None
    event_types: EventTypes | None = None
    occurred_after: IsoDatetime | None = Field(default=None, description="Inclusive lower bound.")
    occurred_before: IsoDatetime | None = Field(
        default=None, description="Exclusive upper bound; after `occurred_after` when both are given."
    )
    limit: int = Field(default=10, ge=1, le=MAX_LIMIT)

    @model_validator(mode="after")
    def _one_source_and_ordered_window(self) -> SimilarEventsRequest:
        if (self.event_id is None) == (self.text is None):
            raise ValueError("give exactly one of event_id or text")
        if self.occurred_after and self.occurred_before and self.occurred_after >= self.occurred_before:
            raise ValueError("occurred_after must be before occurred_before")
        return self


class EventScoreParts(BaseModel):
    """Why a hit ranks where it does: each signal, and how they combine into `final`."""

    dense_rank: int | None = Field(description="Rank in the vector search (1 = best), None if not found there.")
    dense_similarity: float | None
    lexical_rank: int | None = Field(description="Rank in the full-text search, None if not found there.")
    lexical_score: float | None
    rrf: float = Field(description="Reciprocal rank fusion of the two ranks: sum of 1 / (k + rank).")
    recency: float = Field(description="Multiplier in (0, 1] from the event's age (half-life decay).")
    final: float = Field(description="rrf x recency.")


class SimilarEventHit(BaseModel):
    event: EventRead
    score: float
    parts: EventScoreParts


class SimilarEventsRead(BaseModel):
    hits: list[SimilarEventHit]
    lexical_only: LexicalOnly = False
    took_ms: float
