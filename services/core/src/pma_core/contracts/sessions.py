"""The memory-gateway's short-term memory contract: a session's turns, kept in Valkey for a while.

A session is one conversation of one user: an ordered list of turns that lives in Valkey for
`MEMORY_SESSION_TTL_SECONDS` after its last turn. Older turns beyond `MEMORY_SESSION_MAX_TURNS` move to
long-term memory as summaries (kind "summary", source "session:<session_id>"), as does everything left
when the session is flushed. The same session id under two users names two different sessions.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import AfterValidator, BaseModel, Field, StringConstraints

from pma_core.contracts.common import Metadata, RequestModel, UserId
from pma_core.contracts.memory import NOT_BLANK, RememberOutcome, is_blank

TurnRole = Literal["user", "assistant", "system", "tool"]

# The longest turn accepted (characters): a chat message, tool output included, not a document; larger
# texts go through document ingestion, which chunks them. 16,000 characters is about 4,000 tokens.
MAX_TURN_CHARS = 16_000
# How many of the latest turns one read returns at most, and by default.
MAX_LAST_TURNS = 200
DEFAULT_LAST_TURNS = 20
# The TTL a turn may set for its session: from a minute to 30 days.
MIN_SESSION_TTL_SECONDS = 60
MAX_SESSION_TTL_SECONDS = 30 * 86_400
# A session id is used inside Valkey keys and URL paths: printable, no spaces, no slashes, and not only dots
# ("." and ".." are path segments HTTP clients resolve, so such an id could reach another route).
SESSION_ID_PATTERN = r"^[A-Za-z0-9_.:-]*[A-Za-z0-9_:-][A-Za-z0-9_.:-]*$"
MAX_SESSION_ID_CHARS = 128


SessionId = Annotated[str, StringConstraints(min_length=1, max_length=MAX_SESSION_ID_CHARS, pattern=SESSION_ID_PATTERN)]


def _not_blank(value: str) -> str:
    # Content is kept verbatim (indentation matters in code and tool output), but all-blank says nothing.
    if is_blank(value):
        raise ValueError("content must contain more than whitespace")
    return value


TurnText = Annotated[
    str, StringConstraints(min_length=1, max_length=MAX_TURN_CHARS), AfterValidator(_not_blank), NOT_BLANK
]


class TurnCreate(RequestModel):
    """One turn to append to a session."""

    user_id: UserId
    role: TurnRole
    content: TurnText
    metadata: Metadata = Field(default_factory=dict)
    ttl_seconds: int | None = Field(
        default=None,
        ge=MIN_SESSION_TTL_SECONDS,
        le=MAX_SESSION_TTL_SECONDS,
        description="The session's TTL from this turn on (later turns keep it); default MEMORY_SESSION_TTL_SECONDS",
    )


class TurnRead(BaseModel):
    seq: int = Field(description="The turn's number in its session: 1, 2, 3... in append order, never reused.")
    role: TurnRole
    content: str
    metadata: dict[str, Any]
    created_at: datetime


class SessionRead(BaseModel):
    session_id: str
    user_id: str
    turns: list[TurnRead] = Field(description="The latest turns, oldest first.")
    total_turns: int = Field(description="Turns the session holds now (older ones moved to long-term memory).")
    last_seq: int = Field(description="The number of the latest turn: how many turns the session ever had.")
    ttl_seconds: int = Field(description="Seconds until the session expires, unless a new turn arrives.")


class SessionListRead(BaseModel):
    user_id: str
    session_ids: list[str] = Field(description="The user's live sessions, sorted.")


class OverflowRead(BaseModel):
    """Turns that moved from the session into one long-term summary memory."""

    memory_id: UUID
    outcome: RememberOutcome = Field(description="'replayed' when these turns had been summarised before.")
    first_seq: int
    last_seq: int
    turns: int


class AppendRead(BaseModel):
    turn: TurnRead
    turns_kept: int = Field(description="Turns the session holds after this append.")
    moved_to_long_term: list[OverflowRead] = Field(
        default_factory=list, description="The summaries this append wrote (empty when nothing overflowed)."
    )
    overflow_pending: int = Field(
        default=0,
        description="Turns beyond MEMORY_SESSION_MAX_TURNS still held: they move in chunks on a later append.",
    )


class FlushRead(BaseModel):
    session_id: str
    moved_to_long_term: list[OverflowRead]
    turns_flushed: int
    session_cleared: bool = Field(description="False only when turns arrived during the flush: they stay.")
