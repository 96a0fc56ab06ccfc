"""The memory-gateway's long-term memory contract: remember, recall, get, update, forget, history."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    computed_field,
    field_validator,
    model_validator,
)

from pma_core.contracts.common import IdempotencyKey, IsoDatetime, Metadata, RequestModel, ShortText, UserId

MemoryKind = Literal["fact", "preference", "decision", "observation", "reflection", "goal", "instruction", "summary"]
MemoryStatus = Literal["active", "superseded", "expired"]
RememberOutcome = Literal["created", "merged", "duplicate", "replayed"]
HistoryAction = Literal["created", "updated", "merged", "superseded", "invalidated"]

# The longest memory text accepted (characters): a memory is a statement, not a document; documents go
# through search_docs ingestion, which chunks them.
MAX_MEMORY_CHARS = 8_000
MAX_QUERY_CHARS = 2_000
MAX_BATCH = 100
MAX_LIMIT = 100

# What "blank" means in the gateway's contracts: Unicode White_Space, exactly the characters pydantic's
# `strip_whitespace` trims (Rust's str::trim), so a schema's pattern and its validator agree on every character
# (Python's own str.strip() and `\s` also take U+001C..U+001F).
WHITESPACE = (
    "\t\n\x0b\x0c\r \x85\xa0\u1680" + "".join(map(chr, range(0x2000, 0x200B))) + "\u2028\u2029\u202f\u205f\u3000"
)
_SPACE = "".join(f"\\u{ord(char):04x}" for char in WHITESPACE)
# A text with something besides whitespace, and no NUL anywhere: a pattern of ours takes the place of the
# no-NUL pattern the OpenAPI gives other strings (pma_core.app.openapi), so it says both.
NOT_BLANK_PATTERN = f"^[^\\u0000]*[^{_SPACE}\\u0000][^\\u0000]*$"
# The same, neither starting nor ending with whitespace (a key refused rather than trimmed into another key).
TRIMMED_PATTERN = f"^[^{_SPACE}\\u0000]([^\\u0000]*[^{_SPACE}\\u0000])?$"
# Schema-only: the value is still checked by strip_whitespace + min_length, or by `is_blank`.
NOT_BLANK = Field(json_schema_extra={"pattern": NOT_BLANK_PATTERN})


def is_blank(text: str) -> bool:
    """Nothing but WHITESPACE (or nothing at all): what NOT_BLANK_PATTERN refuses."""
    return not text.strip(WHITESPACE)


MemoryText = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_MEMORY_CHARS), NOT_BLANK
]
SlotKey = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), NOT_BLANK]


class _Strict(RequestModel):
    """A request body of this module (unknown fields refused, scalars as JSON typed them)."""


class MemoryItem(_Strict):
    """One memory to store; `user_id` comes from the enclosing request."""

    text: MemoryText
    kind: MemoryKind = "fact"
    key: SlotKey | None = Field(
        default=None,
        description="A slot such as 'work.start_time': a newer memory with the same key supersedes the older.",
    )
    source: ShortText = ""
    metadata: Metadata = Field(default_factory=dict)
    importance: float = Field(default=0.5, ge=0, le=1)
    expires_at: IsoDatetime | None = None
    idempotency_key: IdempotencyKey | None = Field(
        default=None, description="A retried call with the same key returns the first result, never a copy."
    )
    supersedes: list[UUID] = Field(
        default_factory=list,
        max_length=20,
        description="Memories this one contradicts: they are invalidated. Each must be an active memory of the"
        " user (else 422).",
    )


class MemoryCreate(MemoryItem):
    user_id: UserId


class MemoryBatchCreate(_Strict):
    user_id: UserId
    memories: list[MemoryItem] = Field(min_length=1, max_length=MAX_BATCH)


def _never_null(schema: dict[str, Any]) -> None:
    """The schema of a field that may be left out but not sent as null (its validator refuses null): the
    value's own type, without the null branch and the Python default (None) that only mean "left out"."""
    schema.pop("default", None)
    (own,) = [branch for branch in schema.pop("anyOf") if branch != {"type": "null"}]
    schema.update(own)


_UPDATABLE = ("text", "kind", "metadata", "importance", "expires_at")


class MemoryUpdate(_Strict):
    """The fields to change, at least one; a field left out keeps its value. Only `expires_at` may be null
    (no expiry); the others are columns that always hold a value."""

    # "At least one field to update", in the schema.
    model_config = ConfigDict(json_schema_extra={"anyOf": [{"required": [name]} for name in _UPDATABLE]})

    user_id: UserId
    text: MemoryText | None = Field(default=None, json_schema_extra=_never_null)
    kind: MemoryKind | None = Field(default=None, json_schema_extra=_never_null)
    metadata: Metadata | None = Field(default=None, json_schema_extra=_never_null)
    importance: float | None = Field(default=None, ge=0, le=1, json_schema_extra=_never_null)
    expires_at: IsoDatetime | None = Field(default=None, description="null: the memory no longer expires.")

    @field_validator("text", "kind", "metadata", "importance")
    @classmethod
    def _not_null(cls, value: object) -> object:
        # A null would reach a NOT NULL column (a 500): refused here, as the schema says.
        if value is None:
            raise ValueError("cannot be null: leave the field out to keep its value")
        return value

    @model_validator(mode="after")
    def _something_to_change(self) -> MemoryUpdate:
        if not self.model_fields_set - {"user_id"}:
            raise ValueError(f"nothing to update: give at least one of {', '.join(_UPDATABLE)}")
        return self


class MemoryRead(BaseModel):
    id: UUID
    user_id: str
    kind: MemoryKind
    text: str
    key: str | None
    source: str
    metadata: dict[str, Any]
    importance: float
    status: MemoryStatus
    valid_from: datetime
    valid_to: datetime | None
    superseded_by: UUID | None
    expires_at: datetime | None
    created_at: datetime
    updated_at: datetime


class RememberRead(BaseModel):
    memory: MemoryRead
    outcome: RememberOutcome = Field(
        description="created; merged into a near-duplicate; duplicate (same text); replayed (same idempotency key)"
    )
    superseded: list[UUID] = Field(default_factory=list, description="Memories this one invalidated.")


class RememberBatchRead(BaseModel):
    results: list[RememberRead]


class MemoryHistoryRead(BaseModel):
    action: HistoryAction
    old_text: str | None
    new_text: str | None
    details: dict[str, Any]
    created_at: datetime


class RecallFilters(_Strict):
    kinds: list[MemoryKind] | None = Field(default=None, min_length=1)
    sources: list[ShortText] | None = Field(default=None, min_length=1)
    metadata: dict[str, str | int | bool] | None = Field(
        default=None, description="Exact matches on top-level metadata keys."
    )
    created_after: IsoDatetime | None = None
    created_before: IsoDatetime | None = Field(default=None, description="After created_after, when both are given.")
    include_superseded: bool = False
    include_expired: bool = False

    @model_validator(mode="after")
    def _ordered_window(self) -> RecallFilters:
        if self.created_after and self.created_before and self.created_after >= self.created_before:
            raise ValueError("created_after must be before created_before")
        return self


class RecallRequest(_Strict):
    user_id: UserId
    query: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_QUERY_CHARS), NOT_BLANK]
    limit: int = Field(default=10, ge=1, le=MAX_LIMIT)
    filters: RecallFilters = Field(default_factory=RecallFilters)
    mmr: bool = Field(default=False, description="Re-rank for diversity (maximal marginal relevance).")
    mmr_lambda: float = Field(default=0.5, ge=0, le=1, description="1 = relevance only, 0 = diversity only.")
    use_cache: bool = True
    include_mem0: bool = Field(default=False, description="Also ask mem0 (when MEM0_API_KEY is set).")


class ScoreParts(BaseModel):
    """Why a hit ranks where it does: each signal, and how they combine into `final`."""

    dense_rank: int | None = Field(description="Rank in the vector search (1 = best), None if not found there.")
    dense_similarity: float | None
    lexical_rank: int | None = Field(description="Rank in the full-text search, None if not found there.")
    lexical_score: float | None
    relevance: float = Field(
        description="The two retrievers' scores fused. recall: the dense similarity and the IDF-weighted lexical"
        " score, each divided by the best candidate's, averaged. search_docs: reciprocal rank fusion of the two"
        " ranks (sum of 1 / (k + rank))."
    )
    recency: float = Field(description="Multiplier in (0, 1] from the hit's age (half-life decay).")
    importance: float = Field(description="Multiplier from the memory's importance (1 for document chunks).")
    final: float = Field(description="relevance x recency x importance (before any MMR re-ranking).")

    @computed_field(  # type: ignore[prop-decorator]
        description="Deprecated: the same value as `relevance`, under its old name; removed in the next release.",
        json_schema_extra={"deprecated": True},
    )
    @property
    def rrf(self) -> float:
        return self.relevance

    @model_validator(mode="before")
    @classmethod
    def _from_old_name(cls, data: Any) -> Any:
        """A payload from a server that still sends only `rrf` reads as its `relevance`."""
        if isinstance(data, dict) and "relevance" not in data and "rrf" in data:
            data = {**data, "relevance": data["rrf"]}
        return data


class RecallHit(BaseModel):
    memory: MemoryRead
    score: float
    parts: ScoreParts


class ExternalHit(BaseModel):
    """A hit from a mirror (mem0): not one of our memories, so it carries its own id and text."""

    source: Literal["mem0"]
    id: str
    text: str
    score: float | None


# The flag of every hybrid read (recall, search_docs, similar_events, similar_days) that answered without Qdrant.
LexicalOnly = Annotated[
    bool,
    Field(
        description="The vector search failed (Qdrant down or its collection being rebuilt), so the hits come from"
        " full-text search alone and carry no dense rank."
    ),
]


class RecallRead(BaseModel):
    hits: list[RecallHit]
    external_hits: list[ExternalHit] = Field(default_factory=list, description="mem0's hits, if asked for.")
    lexical_only: LexicalOnly = False
    cached: bool
    took_ms: float
