"""Mirror rows into Qdrant: embed, upsert, then mark the rows `indexed_at` in Postgres.

Postgres is written first, in the caller's transaction; the index follows. When the vector store fails,
the rows keep `indexed_at IS NULL`, the failure is logged and counted, and the repair loop retries them,
so Postgres and Qdrant never disagree silently.

Inline indexing (in the request) and the repair loop can hold the same row at once. Each row is marked
against the version it was loaded at (`updated_at`): a row already marked is left alone (a second writer
of the same content writes nothing), and a row changed since it was loaded goes back to pending, because
the point just written may be the older text; the repair loop then writes the current one.

With several gateways (over a Qdrant server), one repair pass or reindex runs at a time among them all
(`RebuildLock`): a pass finding another gateway's pass or reindex under way skips its turn, since those
rows are being written already (with an API embedder, each would be paid for once per gateway).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from pma_core.embedders import Embedder
from pma_core.vectors import VectorPoint, VectorStore, VectorStoreError

_log = logging.getLogger(__name__)
_REPAIR_BATCH = 256
# Pending rows read per table and pass; the repair loop comes back for the rest.
_PENDING_BATCH = 1000
_LOCK_KEY = "pma.memory_index.rebuild"
# A reindex waits this long at most for another gateway's repair pass (passes take seconds) or reindex.
REBUILD_WAIT_SECONDS = 900.0


@dataclass(frozen=True)
class IndexRow:
    """One row to mirror: its id (also the point id), owner, the version (`updated_at`) it was read at,
    the text to embed and the payload to keep."""

    id: UUID
    user_id: str
    version: datetime
    text: str
    payload: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class IndexedTable:
    """How a table is mirrored: its collection, and a query returning (id, user_id, updated_at, text, payload).

    `select_sql` reads the table's rows as points (id, user_id, updated_at, text, payload), with no WHERE:
    `by_ids_sql` and `pending_sql` add one each.
    """

    table: str
    collection: str
    select_sql: str

    @property
    def by_ids_sql(self) -> str:
        """The rows of the ids in $1 (uuid[])."""
        return f"{self.select_sql} WHERE id = ANY($1::uuid[])"

    @property
    def pending_sql(self) -> str:
        """The oldest pending rows. A statement of its own: one condition for both ("$1 IS NULL AND pending,
        or one of $1") made the cached generic plan scan the pending index for every write's own rows, and
        that index keeps an entry for each row marked since the last vacuum (1.4 ms a write at 10k)."""
        return f"{self.select_sql} WHERE indexed_at IS NULL ORDER BY updated_at LIMIT {_PENDING_BATCH}"


class RebuildLock:
    """Held by a repair pass and by a reindex for its whole run, by one holder among all the gateways over
    the database: an asyncio lock within this process, and across processes a Postgres advisory lock held
    by a transaction on a connection of its own. Postgres lets go of it when the holder is done or its
    connection drops (a gateway killed mid-pass holds nothing), and a transaction-scoped lock stays with
    its transaction behind PgBouncer in transaction mode, where a session lock would not.

    `async with lock:` waits for it (a reindex); `hold(wait=False)` tells whether it got it (a pass).
    """

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool
        self._local = asyncio.Lock()
        # The context `async with lock` entered; one slot is enough, as the asyncio lock admits one holder.
        self._entered: AbstractAsyncContextManager[bool] | None = None

    @asynccontextmanager
    async def hold(self, *, wait: bool) -> AsyncIterator[bool]:
        """Hold the lock for the block; without `wait`, False (and nothing held) when another gateway has it."""
        async with self._local, self._pool.acquire() as conn, conn.transaction():
            if wait:
                await conn.execute(
                    "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", _LOCK_KEY, timeout=REBUILD_WAIT_SECONDS
                )
                yield True
            else:
                yield bool(await conn.fetchval("SELECT pg_try_advisory_xact_lock(hashtextextended($1, 0))", _LOCK_KEY))

    async def __aenter__(self) -> None:
        entered = self.hold(wait=True)
        await entered.__aenter__()
        self._entered = entered

    async def __aexit__(self, *exc_info: Any) -> None:
        entered, self._entered = self._entered, None
        assert entered is not None, "exited without entering"
        await entered.__aexit__(*exc_info)


class Indexer:
    def __init__(self, *, pool: asyncpg.Pool, vectors: VectorStore, embedder: Embedder) -> None:
        self.pool = pool
        self.vectors = vectors
        self.embedder = embedder
        self.failures = 0
        # Held by a repair pass and by a reindex for its whole run, across gateways: a repair pass that took
        # the rows a reindex had just marked pending left the reindex nothing to count (done 0 of 3).
        self.rebuilding = RebuildLock(pool)

    async def index(
        self, table: IndexedTable, rows: Sequence[IndexRow], *, known: Mapping[UUID, list[float]] | None = None
    ) -> bool:
        """Embed and upsert `rows`, then mark them indexed; False (rows stay pending) if Qdrant failed.

        `known` holds vectors the caller already computed for exactly these rows' texts: they are not
        embedded again (with an API embedder, a second call per row would be paid twice).
        """
        if not rows:
            return True
        vectors = await self._vectors(rows, known or {})
        points = [
            VectorPoint(id=str(row.id), vector=vector, payload={**row.payload, "user_id": row.user_id})
            for row, vector in zip(rows, vectors, strict=True)
        ]
        try:
            await self.vectors.upsert(table.collection, points)
        except (VectorStoreError, OSError) as exc:
            self.failures += 1
            _log.warning(
                "vector index write failed; rows stay pending for repair",
                extra={"collection": table.collection, "rows": len(rows), "error": repr(exc)},
            )
            return False
        await self._mark(table, rows)
        return True

    async def _mark(self, table: IndexedTable, rows: Sequence[IndexRow]) -> None:
        # Pending rows still at their loaded version become indexed; rows changed since go back to pending.
        # A row another statement holds is skipped (SKIP LOCKED): two marks of overlapping rows (a write's
        # own indexing and the repair pass) deadlocked, each holding rows the other wanted. A skipped row is
        # marked by the other, or stays pending for the repair loop: never marked wrongly.
        # The mark is bookkeeping: its commit does not wait for the WAL to reach the disk (synchronous_commit
        # off for this statement alone), as a mark lost in a crash only sends its row through the repair
        # loop again, an idempotent upsert. One disk flush less on every write.
        await self.pool.execute(
            f"""WITH unflushed AS (SELECT set_config('synchronous_commit', 'off', true)),
                     free AS (SELECT id FROM {table.table} WHERE id = ANY($1::uuid[]) FOR UPDATE SKIP LOCKED)
                UPDATE {table.table} AS t
                SET indexed_at = CASE WHEN t.updated_at = loaded.version THEN now() END
                FROM unnest($1::uuid[], $2::timestamptz[]) AS loaded(id, version), unflushed, free
                WHERE t.id = loaded.id AND t.id = free.id
                  AND (t.updated_at <> loaded.version OR t.indexed_at IS NULL)""",
            [row.id for row in rows],
            [row.version for row in rows],
        )

    async def _vectors(self, rows: Sequence[IndexRow], known: Mapping[UUID, list[float]]) -> list[list[float]]:
        missing = [row for row in rows if row.id not in known]
        fresh = dict(
            zip((row.id for row in missing), await self.embedder.embed([r.text for r in missing]), strict=True)
        )
        return [known[row.id] if row.id in known else fresh[row.id] for row in rows]

    async def remove(self, collection: str, ids: Sequence[UUID]) -> None:
        """Drop points; a failure is logged (a later reindex removes orphans) but never raised."""
        try:
            await self.vectors.delete(collection, [str(i) for i in ids])
        except (VectorStoreError, OSError) as exc:
            self.failures += 1
            _log.warning("vector index delete failed", extra={"collection": collection, "error": repr(exc)})

    async def load(self, table: IndexedTable, ids: Sequence[UUID] | None) -> list[IndexRow]:
        if ids is None:
            rows = await self.pool.fetch(table.pending_sql)
        else:
            rows = await self.pool.fetch(table.by_ids_sql, list(ids))
        return [IndexRow(r["id"], r["user_id"], r["updated_at"], r["text"], r["payload"]) for r in rows]

    async def repair(self, tables: Sequence[IndexedTable]) -> int:
        """Index every row still pending; returns how many were written. Waits while this gateway's reindex
        runs; skips (0) while another gateway's pass or reindex does, as those rows are being written."""
        async with self.rebuilding.hold(wait=False) as held:
            return await self._repair(tables) if held else 0

    async def _repair(self, tables: Sequence[IndexedTable]) -> int:
        written = 0
        for table in tables:
            pending = await self.load(table, None)
            for start in range(0, len(pending), _REPAIR_BATCH):
                batch = pending[start : start + _REPAIR_BATCH]
                if not await self.index(table, batch):
                    return written
                written += len(batch)
        return written

    async def repair_forever(self, tables: Sequence[IndexedTable], *, interval_seconds: float) -> None:
        """The lifespan's background task: retry pending rows every `interval_seconds`."""
        while True:
            await asyncio.sleep(interval_seconds)
            try:
                repaired = await self.repair(tables)
            except Exception as exc:  # a loop that dies stops repairing until a restart: log and go on
                _log.warning("index repair pass failed", extra={"error": repr(exc)})
                continue
            if repaired:
                _log.info("index repair wrote pending rows", extra={"rows": repaired})
