"""The memory-gateway's domain values: plain dataclasses, free of FastAPI, SQL and HTTP."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, cast
from uuid import UUID

from memory_gateway.domain.chunking import MediaType
from pma_core.contracts.documents import DocumentRead, IngestOutcome
from pma_core.contracts.events import EventRead
from pma_core.contracts.graph import NodeRead, PathStep


@dataclass(frozen=True)
class MemoryRow:
    """A memory as stored."""

    id: UUID
    user_id: str
    kind: str
    text: str
    key: str | None
    source: str
    metadata: dict[str, Any]
    importance: float
    valid_from: datetime
    valid_to: datetime | None
    superseded_by: UUID | None
    expires_at: datetime | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class NewMemory:
    """What a remember call asks to store (before deduplication decides whether it is new)."""

    kind: str
    text: str
    key: str | None = None
    source: str = ""
    metadata: Mapping[str, Any] = field(default_factory=dict)
    importance: float = 0.5
    expires_at: datetime | None = None
    idempotency_key: str | None = None
    supersedes: Sequence[UUID] = ()


@dataclass(frozen=True)
class RecallScope:
    """Who is asking and which memories may answer: the filters every retriever applies."""

    user_id: str
    now: datetime
    kinds: Sequence[str] | None = None
    sources: Sequence[str] | None = None
    metadata: Mapping[str, str | int | bool] | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None
    include_superseded: bool = False
    include_expired: bool = False


@dataclass(frozen=True)
class HistoryEntry:
    """One change of a memory, as its history keeps it."""

    action: str
    old_text: str | None
    new_text: str | None
    details: dict[str, Any]
    created_at: datetime


# A memory that passed the filters of a recall, with its lexemes (to score it against the query's words).
ScopedRow = tuple[MemoryRow, frozenset[str]]


@dataclass(frozen=True)
class LexicalCandidates:
    """Full-text candidates, best first, the weight (idf) of each query lexeme that scored them, and their rows."""

    ranked: list[tuple[UUID, float]]
    weights: Mapping[str, float]
    rows: Mapping[UUID, ScopedRow] = field(default_factory=dict)


def status_of(row: MemoryRow, now: datetime) -> str:
    """active, superseded (a newer memory replaced it) or expired (past its expires_at)."""
    if row.valid_to is not None:
        return "superseded"
    if row.expires_at is not None and row.expires_at <= now:
        return "expired"
    return "active"


def content_hash(kind: str, text: str) -> str:
    """Exact-duplicate fingerprint: same kind and same text up to case and whitespace."""
    normalised = " ".join(text.lower().split())
    return hashlib.sha256(f"{kind}\x00{normalised}".encode()).hexdigest()


@dataclass(frozen=True)
class Remembered:
    memory: MemoryRow
    outcome: str
    superseded: tuple[UUID, ...] = ()


@dataclass(frozen=True)
class NewTurn:
    role: str
    content: str
    metadata: Mapping[str, Any] = field(default_factory=dict)
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))


@dataclass(frozen=True)
class Turn:
    """A stored turn: `seq` numbers the turns of a session from 1, in append order."""

    seq: int
    role: str
    content: str
    metadata: Mapping[str, Any]
    created_at: datetime


@dataclass(frozen=True)
class Appended:
    turn: Turn
    total: int
    epoch: str


@dataclass(frozen=True)
class SessionSnapshot:
    turns: list[Turn]
    total: int
    last_seq: int
    ttl_seconds: int
    epoch: str


Ranked = list[tuple[UUID, float]]


@dataclass(frozen=True)
class EventWindow:
    """Which events a search may return: these types (None = any), occurred in `[after, before)`."""

    types: tuple[str, ...] | None = None
    after: datetime | None = None
    before: datetime | None = None

    def admits(self, event: EventRead) -> bool:
        return (
            (self.types is None or event.event_type in self.types)
            and (self.after is None or event.occurred_at >= self.after)
            and (self.before is None or event.occurred_at < self.before)
        )

    def widened_to_seconds(self) -> EventWindow:
        """The window with its bounds rounded outwards to whole seconds.

        The vector index stores occurred_at to the second; a sub-second bound would drop events of that
        second there. The exact bounds are applied again on the rows read back from Postgres.
        """
        after = self.after.replace(microsecond=0) if self.after else None
        before = self.before
        if before is not None and before.microsecond:
            before = before.replace(microsecond=0) + timedelta(seconds=1)
        return EventWindow(types=self.types, after=after, before=before)


@dataclass(frozen=True, slots=True)
class DocumentDraft:
    """What an ingest writes to the documents table (the chunks travel beside it)."""

    user_id: str
    doc_key: str
    title: str
    source: str
    media_type: MediaType
    metadata: dict[str, Any]
    content_hash: str


@dataclass(frozen=True, slots=True)
class StoredDocument:
    document: DocumentRead
    content_hash: str


@dataclass(frozen=True, slots=True)
class Replaced:
    """The outcome of the ingest transaction: the chunks it wrote, and those it deleted."""

    document: DocumentRead
    outcome: IngestOutcome
    chunk_ids: list[UUID]
    removed_chunk_ids: list[UUID]


@dataclass(frozen=True, slots=True)
class ChunkRow:
    """A chunk as read from Postgres for a hit, with what the hit shows of its document."""

    id: UUID
    document_id: UUID
    doc_key: str
    title: str
    ordinal: int
    heading_path: list[str]
    text: str
    document_updated_at: datetime


@dataclass(frozen=True)
class Reached:
    """A node the traversal reached, with the one shortest path to it (parallel tuples, origin excluded)."""

    node: NodeRead
    depth: int
    node_ids: tuple[UUID, ...]
    edge_ids: tuple[UUID, ...]
    relations: tuple[str, ...]
    directions: tuple[str, ...]

    def path(self) -> list[PathStep]:
        steps = zip(self.edge_ids, self.relations, self.directions, self.node_ids, strict=True)
        return [
            PathStep(edge_id=edge, relation=rel, direction=cast(Literal["out", "in"], way), node_id=node)
            for edge, rel, way, node in steps
        ]
