"""The memory-gateway's daily-threads contract: upsert, read, list and delete threads, and similar_days.

A daily thread is a user's reflection on one day or one week (the observer-agent writes them), stored
under the caller's own key for it (`key`, e.g. "2026-11-30|daily"): upserting the key again updates the
thread, and sending it unchanged changes nothing. Periods are calendar dates, both ends included.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, model_validator

from pma_core.contracts.common import IsoDate, Metadata, QueryModel, RequestModel, UserId
from pma_core.contracts.events import EventScoreParts
from pma_core.contracts.memory import NOT_BLANK, TRIMMED_PATTERN, WHITESPACE, LexicalOnly, is_blank

MAX_KEY_CHARS = 100
MAX_TEXT_CHARS = 16_000
# A week, both ends included (Monday to Sunday): the longest period a thread covers.
MAX_PERIOD_DAYS = 7
MAX_LIST_LIMIT = 400
MAX_SIMILAR_LIMIT = 20

ThreadKind = Literal["daily", "weekly"]
WriteOutcome = Literal["created", "updated", "unchanged"]


def _no_surrounding_whitespace(value: str) -> str:
    # The key is the caller's identity for the thread: refused rather than trimmed into another key.
    if value != value.strip(WHITESPACE):
        raise ValueError("key must not start or end with whitespace")
    return value


def _not_blank(value: str) -> str:
    if is_blank(value):
        raise ValueError("text holds only whitespace")
    return value


ThreadKey = Annotated[
    str,
    StringConstraints(min_length=1, max_length=MAX_KEY_CHARS),
    AfterValidator(_no_surrounding_whitespace),
    Field(json_schema_extra={"pattern": TRIMMED_PATTERN}),
]
ThreadText = Annotated[
    str, StringConstraints(min_length=1, max_length=MAX_TEXT_CHARS), AfterValidator(_not_blank), NOT_BLANK
]
QueryText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_TEXT_CHARS), NOT_BLANK]


class _Strict(RequestModel):
    """A request body of this module (unknown fields refused, scalars as JSON typed them)."""


class DailyThreadUpsert(_Strict):
    """A thread to store under (user_id, key): created, updated, or unchanged when nothing differs."""

    user_id: UserId
    key: ThreadKey = Field(description="The caller's stable name for the thread, e.g. '2026-11-30|daily'.")
    kind: ThreadKind
    period_start: IsoDate = Field(description="The first day the thread covers (YYYY-MM-DD).")
    period_end: IsoDate = Field(
        description=f"The last day, included: not before period_start, at most {MAX_PERIOD_DAYS} days in all."
    )
    text: ThreadText = Field(description=f"The reflection, 1 to {MAX_TEXT_CHARS:,} characters; embedded and searched.")
    metadata: Metadata = Field(default_factory=dict)

    @model_validator(mode="after")
    def _bounded_period(self) -> DailyThreadUpsert:
        if self.period_end < self.period_start:
            raise ValueError("period_end must not be before period_start")
        if self.period_end - self.period_start >= timedelta(days=MAX_PERIOD_DAYS):
            raise ValueError(f"a period covers at most {MAX_PERIOD_DAYS} days, both ends included")
        return self


class DailyThreadRead(BaseModel):
    id: UUID
    user_id: str
    key: str
    kind: ThreadKind
    period_start: date
    period_end: date
    text: str
    metadata: dict[str, Any]
    created_at: datetime
    updated_at: datetime


class DailyThreadWriteRead(BaseModel):
    thread: DailyThreadRead
    outcome: WriteOutcome = Field(
        description="created; updated (the key existed with other content); unchanged (nothing differed)"
    )


class DailyThreadListQuery(QueryModel):
    """Query parameters of `GET /v1/daily_threads`: threads whose period overlaps [from, to], newest first.

    `from` and `to` on the wire (and in `model_validate`); `start` and `end` as attributes, `from` being a
    Python keyword.
    """

    user_id: UserId
    start: IsoDate | None = Field(default=None, alias="from", description="Threads ending on or after this day.")
    end: IsoDate | None = Field(
        default=None, alias="to", description="Threads starting on or before this day; not before `from`."
    )
    kind: ThreadKind | None = None
    limit: int = Field(default=100, ge=1, le=MAX_LIST_LIMIT)

    @model_validator(mode="after")
    def _ordered_window(self) -> DailyThreadListQuery:
        if self.start and self.end and self.start > self.end:
            raise ValueError("from must not be after to")
        return self


class DailyThreadListRead(BaseModel):
    threads: list[DailyThreadRead]


class SimilarDaysRequest(_Strict):
    """Find the user's threads most like one of theirs (`key`) or like a text: exactly one of the two."""

    # "Exactly one of key or text", in the schema: the other is left out (or null).
    model_config = ConfigDict(
        json_schema_extra={
            "oneOf": [
                {"required": ["key"], "properties": {"key": {"type": "string"}, "text": {"type": "null"}}},
                {"required": ["text"], "properties": {"text": {"type": "string"}, "key": {"type": "null"}}},
            ]
        }
    )

    user_id: UserId
    key: ThreadKey | None = Field(default=None, description="A thread of this user; it is left out of the hits.")
    text: QueryText | None = None
    kind: ThreadKind | None = Field(default=None, description="Only threads of this kind.")
    limit: int = Field(default=5, ge=1, le=MAX_SIMILAR_LIMIT)

    @model_validator(mode="after")
    def _one_source(self) -> SimilarDaysRequest:
        if (self.key is None) == (self.text is None):
            raise ValueError("give exactly one of key or text")
        return self


class DayScoreParts(EventScoreParts):
    """Why a thread ranks where it does: the parts similar_events explains its hits with."""

    recency: float = Field(
        description="Always 1: how long ago a day was says nothing of how alike it is (events are weighed by age)."
    )
    final: float = Field(description="rrf (x recency, which is 1).")


class SimilarDayHit(BaseModel):
    thread: DailyThreadRead
    score: float
    parts: DayScoreParts


class SimilarDaysRead(BaseModel):
    hits: list[SimilarDayHit]
    lexical_only: LexicalOnly = False
    took_ms: float
