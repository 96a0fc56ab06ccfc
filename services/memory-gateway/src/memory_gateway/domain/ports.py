"""What the memory-gateway's domain needs from the outside, as small protocols the adapters satisfy.

The domain depends on these only, never on an adapter (a test walks the domain's imports), so the SQL,
Valkey, Qdrant and HTTP code can change, or be swapped in a test, without the domain knowing. The vector
store's own port (`pma_core.vectors.port.VectorStore`) serves recall as it is.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol
from uuid import UUID

from memory_gateway.domain.chunking import Chunk
from memory_gateway.domain.dedupe import Known
from memory_gateway.domain.models import (
    Appended,
    ChunkRow,
    DocumentDraft,
    EventWindow,
    HistoryEntry,
    LexicalCandidates,
    MemoryRow,
    NewMemory,
    NewTurn,
    Ranked,
    Reached,
    RecallScope,
    Remembered,
    Replaced,
    ScopedRow,
    SessionSnapshot,
    StoredDocument,
    Turn,
)
from pma_core.contracts.daily_threads import (
    DailyThreadListQuery,
    DailyThreadRead,
    DailyThreadUpsert,
    DailyThreadWriteRead,
    ThreadKind,
)
from pma_core.contracts.documents import DocumentRead
from pma_core.contracts.events import EventItem, EventLogRead, EventRead
from pma_core.contracts.graph import EdgeItem, EdgeRead, NeighborsQuery, NodeItem, NodeRead, NodeRef
from pma_core.contracts.memory import ExternalHit


class TextEmbedder(Protocol):
    """The embedder as the domain uses it (pma_core.embedders.Embedder satisfies it)."""

    async def embed(self, texts: Sequence[str]) -> list[list[float]]: ...


class MemoryTx(Protocol):
    """The statements of one write transaction, all for one user (who holds its advisory lock)."""

    @property
    def user_id(self) -> str: ...

    async def known(self, items: Sequence[NewMemory]) -> Known:
        """The items' idempotency keys already used by this user, and their exact texts already active."""
        ...

    async def by_idempotency_key(self, key: str) -> MemoryRow | None: ...
    async def active_by_hash(self, digest: str) -> MemoryRow | None: ...
    async def active(self, ids: Sequence[UUID]) -> list[MemoryRow]: ...
    async def active_with_key(self, key: str) -> list[MemoryRow]: ...
    async def lock(self, memory_id: UUID) -> MemoryRow | None: ...
    async def insert(self, memory: NewMemory) -> MemoryRow: ...
    async def insert_many(self, memories: Sequence[tuple[UUID, NewMemory]]) -> dict[UUID, MemoryRow]: ...
    async def update(self, memory_id: UUID, changes: dict[str, Any]) -> MemoryRow: ...
    async def supersede(self, old_ids: Sequence[UUID], new_id: UUID) -> None: ...
    async def delete(self, memory_id: UUID) -> bool: ...
    async def record(
        self, memory_id: UUID, action: str, *, old_text: str | None, new_text: str | None, details: dict[str, Any]
    ) -> None: ...
    async def bump_generation(self) -> None:
        """Invalidate every cached recall of the user (see RecallService.cached)."""
        ...


class MemoryStore(Protocol):
    """Long-term memories in Postgres, the source of truth; every call is scoped to one user."""

    def transaction(self, user_id: str) -> AbstractAsyncContextManager[MemoryTx]: ...
    async def get(self, user_id: str, memory_id: UUID) -> MemoryRow | None: ...
    async def history(self, user_id: str, memory_id: UUID) -> list[HistoryEntry]: ...


class MemoryIndex(Protocol):
    """The memories' vector index. Writes never raise for an index failure: the rows stay pending for the
    repair loop (Postgres stays the truth)."""

    async def index(self, ids: Sequence[UUID], *, known: Mapping[UUID, list[float]] | None = None) -> None:
        """(Re)index these memories; `known` holds vectors already computed for exactly their texts."""
        ...

    async def remove(self, ids: Sequence[UUID]) -> None: ...

    async def similar(self, user_id: str, vector: Sequence[float], *, kind: str, threshold: float) -> list[UUID] | None:
        """Indexed memories of the user and kind at least `threshold` alike (cosine), nearest first; None
        when the index could not be searched."""
        ...


class RecallStore(Protocol):
    """What recall reads from Postgres: candidates and rows within a scope, and the user's generation."""

    async def lexical(self, scope: RecallScope, query: str, *, limit: int) -> LexicalCandidates: ...
    async def in_scope(self, scope: RecallScope, ids: Sequence[UUID]) -> list[ScopedRow]: ...
    async def generation(self, user_id: str) -> int: ...


class RecallCache(Protocol):
    """Where answers are kept between identical recalls (Valkey); a cache that is down answers None/False."""

    async def get(self, name: str) -> bytes | None: ...
    async def set(self, name: str, value: bytes | str, *, ttl_seconds: int) -> bool: ...


class Rememberer(Protocol):
    """Long-term memory as short-term memory writes to it (MemoryService satisfies it)."""

    async def remember(self, user_id: str, items: Sequence[NewMemory]) -> list[Remembered]: ...


class SessionStore(Protocol):
    """Short-term memory (Valkey): each user's sessions of turns. Every write is atomic; a store that is
    down raises UnavailableError (503)."""

    async def append(
        self, user_id: str, session_id: str, turn: NewTurn, *, ttl_seconds: int | None, default_ttl_seconds: int
    ) -> Appended: ...
    async def snapshot(self, user_id: str, session_id: str, *, last: int) -> SessionSnapshot | None: ...
    async def oldest(self, user_id: str, session_id: str, *, count: int) -> list[Turn]: ...
    async def head(self, user_id: str, session_id: str, *, count: int) -> tuple[list[Turn], int]:
        """The `count` oldest turns and how many turns the session holds, read together."""
        ...

    async def trim_through(self, user_id: str, session_id: str, last_seq: int) -> int:
        """Remove the oldest turns up to `last_seq`; returns the turns left."""
        ...

    async def delete(self, user_id: str, session_id: str) -> bool: ...
    async def session_ids(self, user_id: str) -> list[str]: ...


class Mirror(Protocol):
    """Somewhere else memories are copied to (mem0): writes are fire-and-forget and never block remember;
    a search answers None when the mirror fails or is slow, never an error."""

    def mirror(self, user_id: str, text: str, metadata: Mapping[str, Any]) -> None: ...

    async def search(self, user_id: str, query: str, *, limit: int) -> list[ExternalHit] | None: ...


class Summariser(Protocol):
    """Writes the text of one long-term summary memory from a chunk of a session's turns.

    The text must fit in `max_chars`. It should be deterministic where it can: then a retried chunk is
    also an exact duplicate, on top of the idempotency key that already prevents a second memory.
    """

    async def summarise(self, session_id: str, turns: Sequence[Turn], *, max_chars: int) -> str: ...


class EventWriter(Protocol):
    async def insert(self, item: EventItem, *, position: int | None) -> EventLogRead:
        """Insert one event, or return the user's event with the same idempotency key (replayed)."""
        ...


class EventLog(Protocol):
    def transaction(self, user_id: str) -> AbstractAsyncContextManager[EventWriter]: ...

    async def index(self, ids: Sequence[UUID]) -> None:
        """Mirror committed events into the vector index (a failure leaves them for the repair loop)."""
        ...


class EventFinder(Protocol):
    """The Postgres side of similar_events; every call is scoped to one user."""

    async def get_many(self, user_id: str, ids: Sequence[UUID]) -> list[EventRead]: ...

    async def index_text(self, user_id: str, event_id: UUID) -> str | None:
        """The text the vector index embeds for this event."""
        ...

    async def lexical(self, user_id: str, text: str, *, window: EventWindow, limit: int) -> Ranked: ...


class EventNeighbours(Protocol):
    """The vector side: nearest events to a text, within one user and a window, nearest first."""

    async def nearest(self, user_id: str, text: str, *, window: EventWindow, limit: int) -> Ranked | None:
        """None if the search failed (Qdrant down or being rebuilt), [] if it found none."""
        ...


class DocumentStore(Protocol):
    """The documents and chunks tables (all calls scoped to one user)."""

    async def find(self, *, user_id: str, doc_key: str) -> StoredDocument | None: ...

    async def replace(self, draft: DocumentDraft, chunks: Sequence[Chunk]) -> Replaced:
        """Create the document or replace it and its chunks, in one transaction ("unchanged" if same hash)."""
        ...

    async def get(self, *, user_id: str, document_id: UUID) -> DocumentRead | None: ...

    async def list_documents(
        self, *, user_id: str, doc_key: str | None, limit: int, offset: int
    ) -> list[DocumentRead]: ...

    async def delete(self, *, user_id: str, document_id: UUID) -> list[UUID] | None:
        """Delete the document and its chunks; the deleted chunk ids, or None if there was no such document."""
        ...

    async def document_ids(self, *, user_id: str, doc_keys: Sequence[str]) -> list[UUID]: ...

    async def lexical(
        self, *, user_id: str, query: str, document_ids: Sequence[UUID] | None, limit: int
    ) -> list[tuple[UUID, float]]:
        """Full-text candidates, best first: (chunk id, rank)."""
        ...

    async def chunks(self, *, user_id: str, ids: Sequence[UUID]) -> list[ChunkRow]: ...


class ChunkIndex(Protocol):
    """The vector index of chunks. It never raises for an index failure: Postgres stays the truth."""

    async def index(self, chunk_ids: Sequence[UUID]) -> None: ...

    async def remove(self, chunk_ids: Sequence[UUID]) -> None: ...

    async def dense(
        self, *, user_id: str, query: str, document_ids: Sequence[UUID] | None, limit: int
    ) -> list[tuple[UUID, float]] | None:
        """Nearest chunks to the query, best first: (chunk id, cosine similarity); None if the search failed
        (the index or the embedder down), [] if it found none."""
        ...

    async def chunk_vectors(self, chunk_ids: Sequence[UUID]) -> dict[UUID, list[float]]:
        """The stored vectors of these chunks (those not indexed are left out)."""
        ...


class DailyThreadStore(Protocol):
    """The daily_threads table, source of truth of the `daily_threads` collection; every call is scoped to
    one user."""

    async def upsert(self, thread: DailyThreadUpsert, *, content_hash: str) -> DailyThreadWriteRead:
        """Create the thread or update it by (user_id, key), in one transaction ("unchanged" if same hash)."""
        ...

    async def get(self, user_id: str, thread_id: UUID) -> DailyThreadRead | None: ...
    async def by_key(self, user_id: str, key: str) -> DailyThreadRead | None: ...
    async def get_many(self, user_id: str, ids: Sequence[UUID]) -> list[DailyThreadRead]: ...
    async def list_threads(self, query: DailyThreadListQuery) -> list[DailyThreadRead]: ...
    async def delete(self, user_id: str, thread_id: UUID) -> bool: ...

    async def lexical(self, user_id: str, text: str, *, kind: ThreadKind | None, limit: int) -> Ranked:
        """Full-text candidates, best first: (thread id, rank)."""
        ...


class DailyThreadIndex(Protocol):
    """The vector index of daily threads. Writes never raise for an index failure: the rows stay pending
    for the repair loop (Postgres stays the truth)."""

    async def index(self, ids: Sequence[UUID]) -> None: ...

    async def remove(self, ids: Sequence[UUID]) -> None: ...

    async def nearest(self, user_id: str, text: str, *, kind: ThreadKind | None, limit: int) -> Ranked | None:
        """Nearest threads of the user (and kind) to the text, nearest first; None if the search failed
        (Qdrant down or being rebuilt), [] if it found none."""
        ...


class GraphWriter(Protocol):
    async def upsert_node(self, item: NodeItem, *, field: str) -> tuple[NodeRead, bool]:
        """Insert or update by (node_type, key); True when inserted."""
        ...

    async def resolve(self, ref: NodeRef) -> UUID | None: ...

    async def upsert_edge(
        self, item: EdgeItem, *, source_id: UUID, target_id: UUID, field: str
    ) -> tuple[EdgeRead, bool]: ...


class GraphStore(Protocol):
    def transaction(self, user_id: str) -> AbstractAsyncContextManager[GraphWriter]: ...

    async def find_node(self, user_id: str, ref: NodeRef) -> NodeRead | None: ...

    async def edges(self, user_id: str, ids: Sequence[UUID]) -> list[EdgeRead]: ...

    async def walk(self, origin_id: UUID, query: NeighborsQuery, *, limit: int) -> list[Reached]: ...
