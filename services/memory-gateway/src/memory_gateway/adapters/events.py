"""All SQL and vector calls of the event log: insert (idempotent), get, list, lexical and dense candidates.

Every statement is scoped by user_id. Filters are added only when given, so each query keeps the shape
its index serves: (user_id, occurred_at DESC), or (user_id, event_type, occurred_at DESC) with types.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any
from uuid import UUID

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from memory_gateway.adapters.indexer import Indexer
from memory_gateway.adapters.lexical import OR_QUERY_SQL
from memory_gateway.adapters.tables import EVENTS
from memory_gateway.domain.models import EventWindow, Ranked
from pma_core.contracts.events import EventItem, EventListQuery, EventLogRead, EventRead
from pma_core.embedders import Embedder
from pma_core.embedders.port import EmbeddingError
from pma_core.errors import UpstreamError, ValidationFailedError
from pma_core.vectors import VectorFilter, VectorStore, VectorStoreError

_log = logging.getLogger(__name__)
_COLUMNS = "id, user_id, event_type, actor, subject, source, summary, payload, occurred_at, idempotency_key, created_at"
# The partial unique index (user_id, idempotency_key) WHERE idempotency_key IS NOT NULL is the arbiter:
# a second insert with the same key does nothing, and the first row is read back instead.
_INSERT = f"""
    INSERT INTO events (user_id, event_type, actor, subject, source, summary, payload, occurred_at, idempotency_key)
    VALUES ($1, $2, $3, $4, $5, $6, $7, COALESCE($8, now()), $9)
    ON CONFLICT (user_id, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
    RETURNING {_COLUMNS}"""
_BY_KEY = f"SELECT {_COLUMNS} FROM events WHERE user_id = $1 AND idempotency_key = $2"


def _event(record: asyncpg.Record) -> EventRead:
    return EventRead.model_validate(dict(record))


def _window_sql(window: EventWindow, *, first_arg: int) -> tuple[str, list[Any]]:
    """`AND ...` conditions for the window's filters that are set, numbered from `$first_arg`."""
    conditions: list[str] = []
    args: list[Any] = []
    for condition, value in (
        ("event_type = ANY(${}::text[])", list(window.types) if window.types else None),
        ("occurred_at >= ${}", window.after),
        ("occurred_at < ${}", window.before),
    ):
        if value is not None:
            args.append(value)
            conditions.append(condition.format(first_arg + len(args) - 1))
    return "".join(f" AND {c}" for c in conditions), args


class EventTx:
    """The inserts of one transaction, all for one user."""

    def __init__(self, conn: asyncpg.Connection | PoolConnectionProxy, user_id: str) -> None:
        self.conn = conn
        self.user_id = user_id

    async def insert(self, item: EventItem, *, position: int | None) -> EventLogRead:
        args = (item.event_type, item.actor, item.subject, item.source, item.summary, item.payload, item.occurred_at)
        try:
            record = await self.conn.fetchrow(_INSERT, self.user_id, *args, item.idempotency_key)
        except (asyncpg.CharacterNotInRepertoireError, asyncpg.UntranslatableCharacterError) as exc:
            field = "body" if position is None else f"body.events.{position}"
            raise ValidationFailedError(
                f"invalid request: {field}: text and payload strings cannot contain NUL (\\u0000) characters",
                details=[{"field": field, "message": str(exc), "type": "nul_character"}],
            ) from exc
        if record is not None:
            return EventLogRead(event=_event(record), outcome="created")
        existing = await self.conn.fetchrow(_BY_KEY, self.user_id, item.idempotency_key)
        assert existing is not None, "ON CONFLICT DO NOTHING means a row with this key exists"
        return EventLogRead(event=_event(existing), outcome="replayed")


class EventRepository:
    """The events table: the append-only log, source of truth of the Qdrant `events` collection."""

    def __init__(self, pool: asyncpg.Pool, indexer: Indexer) -> None:
        self.pool = pool
        self.indexer = indexer

    @asynccontextmanager
    async def transaction(self, user_id: str) -> AsyncIterator[EventTx]:
        async with self.pool.acquire() as conn, conn.transaction():
            yield EventTx(conn, user_id)

    async def index(self, ids: Sequence[UUID]) -> None:
        if not ids:
            return
        try:
            await self.indexer.index(EVENTS, await self.indexer.load(EVENTS, ids))
        except EmbeddingError as exc:
            # The events are committed; the repair loop embeds them once the embedder answers again.
            _log.warning("embedding events failed; they stay pending for repair", extra={"error": repr(exc)})

    async def get(self, user_id: str, event_id: UUID) -> EventRead | None:
        record = await self.pool.fetchrow(
            f"SELECT {_COLUMNS} FROM events WHERE user_id = $1 AND id = $2", user_id, event_id
        )
        return _event(record) if record else None

    async def get_many(self, user_id: str, ids: Sequence[UUID]) -> list[EventRead]:
        records = await self.pool.fetch(
            f"SELECT {_COLUMNS} FROM events WHERE user_id = $1 AND id = ANY($2::uuid[])", user_id, list(ids)
        )
        return [_event(r) for r in records]

    async def list_events(self, query: EventListQuery) -> list[EventRead]:
        window = EventWindow(types=tuple(query.types) if query.types else None, after=query.since, before=query.until)
        where, args = _window_sql(window, first_arg=2)
        records = await self.pool.fetch(
            f"""SELECT {_COLUMNS} FROM events WHERE user_id = $1 {where}
                ORDER BY occurred_at DESC, id DESC LIMIT {int(query.limit)}""",
            query.user_id,
            *args,
        )
        return [_event(r) for r in records]

    async def index_text(self, user_id: str, event_id: UUID) -> str | None:
        """The text the indexer embeds for this event (the same query), None if not this user's event."""
        text: str | None = await self.pool.fetchval(
            f"SELECT text FROM ({EVENTS.by_ids_sql}) AS indexed WHERE user_id = $2", [event_id], user_id
        )
        return text

    async def lexical(self, user_id: str, text: str, *, window: EventWindow, limit: int) -> Ranked:
        """Full-text candidates on subject + summary, best first, within the window."""
        where, args = _window_sql(window, first_arg=3)
        records = await self.pool.fetch(
            f"""SELECT e.id, ts_rank_cd(e.search_tsv, q) AS rank
                FROM events e, {OR_QUERY_SQL} AS q
                WHERE e.user_id = $1 AND e.search_tsv @@ q {where}
                ORDER BY rank DESC, e.occurred_at DESC LIMIT {int(limit)}""",
            user_id,
            text,
            *args,
        )
        return [(r["id"], float(r["rank"])) for r in records]


class EventVectors:
    """Dense candidates from the Qdrant `events` collection (payload: user_id, kind = type, created_at)."""

    def __init__(self, vectors: VectorStore, embedder: Embedder) -> None:
        self.vectors = vectors
        self.embedder = embedder

    async def nearest(self, user_id: str, text: str, *, window: EventWindow, limit: int) -> Ranked | None:
        try:
            (vector,) = await self.embedder.embed([text])
        except EmbeddingError as exc:
            raise UpstreamError(f"the embedder failed: {exc}", details={"dependency": "embedder"}) from exc
        flt = VectorFilter(user_id=user_id, kinds=window.types, created_from=window.after, created_to=window.before)
        try:
            hits = await self.vectors.search(EVENTS.collection, vector, flt=flt, limit=limit)
        except (VectorStoreError, OSError) as exc:
            # Qdrant down or being rebuilt: similar_events answers from full-text search alone, and says so.
            _log.warning("vector search failed; similar_events is lexical only", extra={"error": repr(exc)})
            return None
        return [(UUID(hit.id), hit.score) for hit in hits]
