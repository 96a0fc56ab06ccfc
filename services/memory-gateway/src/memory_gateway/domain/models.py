"""The memory-gateway's domain values: plain dataclasses, free of FastAPI, SQL and HTTP."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID


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
