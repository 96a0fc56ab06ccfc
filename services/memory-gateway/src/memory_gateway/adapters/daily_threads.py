"""All SQL and vector calls of daily threads: upsert by key, get, list by period, delete, and candidates.

Every statement is scoped by user_id: another user's thread is simply not found. A period spans at most
`MAX_PERIOD_DAYS`, so the threads overlapping [from, to] all start within [from - 6 days, to], a range the
(user_id, period_start) index serves; only the conditions that are set are added, as for events.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import timedelta
from typing import Any
from uuid import UUID

import asyncpg

from memory_gateway.adapters.indexer import Indexer
from memory_gateway.adapters.lexical import OR_QUERY_SQL
from memory_gateway.adapters.tables import DAILY_THREADS
from memory_gateway.domain.models import Ranked
from pma_core.contracts.daily_threads import (
    MAX_PERIOD_DAYS,
    DailyThreadListQuery,
    DailyThreadRead,
    DailyThreadUpsert,
    DailyThreadWriteRead,
    ThreadKind,
)
from pma_core.embedders import Embedder, EmbeddingError
from pma_core.errors import ConflictError, UpstreamError
from pma_core.vectors import VectorFilter, VectorStore, VectorStoreError

_log = logging.getLogger(__name__)

_COLUMNS = "id, user_id, thread_key AS key, kind, period_start, period_end, text, metadata, created_at, updated_at"
# The longest a thread can start before a day it still covers.
_LONGEST_OVERLAP = timedelta(days=MAX_PERIOD_DAYS - 1)

# The insert comes first (ON CONFLICT DO NOTHING), so two first upserts of one key cannot both create it;
# the row lock then serialises concurrent updates of the same thread.
_INSERT_NEW = f"""
    INSERT INTO daily_threads (user_id, thread_key, kind, period_start, period_end, text, metadata, content_hash)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
    ON CONFLICT (user_id, thread_key) DO NOTHING
    RETURNING {_COLUMNS}"""
_LOCK_EXISTING = f"SELECT {_COLUMNS}, content_hash FROM daily_threads WHERE user_id = $1 AND thread_key = $2 FOR UPDATE"
# A changed thread is pending again in the same transaction: a failed re-index is repaired, never lost.
_UPDATE = f"""
    UPDATE daily_threads SET kind = $3, period_start = $4, period_end = $5, text = $6, metadata = $7,
                             content_hash = $8, indexed_at = NULL
    WHERE user_id = $1 AND id = $2
    RETURNING {_COLUMNS}"""


def _thread(record: asyncpg.Record) -> DailyThreadRead:
    return DailyThreadRead.model_validate({name: record[name] for name in DailyThreadRead.model_fields})


def _conditions(pairs: Sequence[tuple[str, Any]], *, first_arg: int) -> tuple[str, list[Any]]:
    """`AND ...` for each (condition, value) whose value is set, numbered from `$first_arg`."""
    conditions: list[str] = []
    args: list[Any] = []
    for condition, value in pairs:
        if value is not None:
            args.append(value)
            conditions.append(condition.format(first_arg + len(args) - 1))
    return "".join(f" AND {c}" for c in conditions), args


class DailyThreadRepository:
    """The `DailyThreadStore` port over the daily_threads table, source of truth of its collection."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def upsert(self, thread: DailyThreadUpsert, *, content_hash: str) -> DailyThreadWriteRead:
        """Create the thread, or update it by (user_id, key) unless its content hash is the same, in one
        transaction."""
        values = (thread.kind, thread.period_start, thread.period_end, thread.text, thread.metadata, content_hash)
        async with self.pool.acquire() as conn, conn.transaction():
            record = await conn.fetchrow(_INSERT_NEW, thread.user_id, thread.key, *values)
            if record is not None:
                return DailyThreadWriteRead(thread=_thread(record), outcome="created")
            existing = await conn.fetchrow(_LOCK_EXISTING, thread.user_id, thread.key)
            if existing is None:
                raise ConflictError(f"daily thread {thread.key!r} was deleted during the upsert; retry")
            if existing["content_hash"] == content_hash:
                return DailyThreadWriteRead(thread=_thread(existing), outcome="unchanged")
            updated = await conn.fetchrow(_UPDATE, thread.user_id, existing["id"], *values)
        assert updated is not None, "the row is locked by this transaction"
        return DailyThreadWriteRead(thread=_thread(updated), outcome="updated")

    async def get(self, user_id: str, thread_id: UUID) -> DailyThreadRead | None:
        record = await self.pool.fetchrow(
            f"SELECT {_COLUMNS} FROM daily_threads WHERE user_id = $1 AND id = $2", user_id, thread_id
        )
        return _thread(record) if record else None

    async def by_key(self, user_id: str, key: str) -> DailyThreadRead | None:
        record = await self.pool.fetchrow(
            f"SELECT {_COLUMNS} FROM daily_threads WHERE user_id = $1 AND thread_key = $2", user_id, key
        )
        return _thread(record) if record else None

    async def get_many(self, user_id: str, ids: Sequence[UUID]) -> list[DailyThreadRead]:
        records = await self.pool.fetch(
            f"SELECT {_COLUMNS} FROM daily_threads WHERE user_id = $1 AND id = ANY($2::uuid[])", user_id, list(ids)
        )
        return [_thread(r) for r in records]

    async def list_threads(self, query: DailyThreadListQuery) -> list[DailyThreadRead]:
        """The threads whose period overlaps [start, end], newest period first."""
        where, args = _conditions(
            [
                ("period_end >= ${}", query.start),
                ("period_start >= ${}", query.start - _LONGEST_OVERLAP if query.start else None),
                ("period_start <= ${}", query.end),
                ("kind = ${}", query.kind),
            ],
            first_arg=2,
        )
        records = await self.pool.fetch(
            f"""SELECT {_COLUMNS} FROM daily_threads WHERE user_id = $1 {where}
                ORDER BY period_start DESC, period_end DESC, id DESC LIMIT {int(query.limit)}""",
            query.user_id,
            *args,
        )
        return [_thread(r) for r in records]

    async def delete(self, user_id: str, thread_id: UUID) -> bool:
        deleted = await self.pool.fetchval(
            "DELETE FROM daily_threads WHERE user_id = $1 AND id = $2 RETURNING id", user_id, thread_id
        )
        return deleted is not None

    async def lexical(self, user_id: str, text: str, *, kind: ThreadKind | None, limit: int) -> Ranked:
        """Full-text candidates on the threads' text, best first."""
        where, args = _conditions([("t.kind = ${}", kind)], first_arg=3)
        records = await self.pool.fetch(
            f"""SELECT t.id, ts_rank_cd(t.search_tsv, q) AS rank
                FROM daily_threads t, {OR_QUERY_SQL} AS q
                WHERE t.user_id = $1 AND t.search_tsv @@ q {where}
                ORDER BY rank DESC, t.period_start DESC LIMIT {int(limit)}""",
            user_id,
            text,
            *args,
        )
        return [(r["id"], float(r["rank"])) for r in records]


class DailyThreadVectors:
    """The `DailyThreadIndex` port: the `daily_threads` collection (payload: user_id, kind, created_at =
    period_start), written through the shared `Indexer`."""

    def __init__(self, *, indexer: Indexer, vectors: VectorStore, embedder: Embedder) -> None:
        self.indexer = indexer
        self.vectors = vectors
        self.embedder = embedder

    async def index(self, ids: Sequence[UUID]) -> None:
        if not ids:
            return
        try:
            await self.indexer.index(DAILY_THREADS, await self.indexer.load(DAILY_THREADS, ids))
        except EmbeddingError as exc:
            # The threads are committed; the repair loop embeds them once the embedder answers again.
            _log.warning("embedding daily threads failed; they stay pending for repair", extra={"error": repr(exc)})

    async def remove(self, ids: Sequence[UUID]) -> None:
        if ids:
            await self.indexer.remove(DAILY_THREADS.collection, ids)

    async def nearest(self, user_id: str, text: str, *, kind: ThreadKind | None, limit: int) -> Ranked | None:
        try:
            (vector,) = await self.embedder.embed([text])
        except EmbeddingError as exc:
            raise UpstreamError(f"the embedder failed: {exc}", details={"dependency": "embedder"}) from exc
        flt = VectorFilter(user_id=user_id, kinds=[kind] if kind else None)
        try:
            hits = await self.vectors.search(DAILY_THREADS.collection, vector, flt=flt, limit=limit)
        except (VectorStoreError, OSError) as exc:
            # Qdrant down or being rebuilt: similar_days answers from full-text search alone, and says so.
            _log.warning("vector search failed; similar_days is lexical only", extra={"error": repr(exc)})
            return None
        return [(UUID(hit.id), hit.score) for hit in hits]
