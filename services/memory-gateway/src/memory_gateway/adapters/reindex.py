"""Rebuild Qdrant collections from Postgres: mark rows pending, then index them in batches.

The service keeps answering meanwhile: points are overwritten in place (ids are row ids), and recall
re-reads every hit from Postgres. After a change of embedder (size, model or hashing version) the
collections must be recreated first (`recreate=True`, stamped with the new embedder's identity), which
only `pma reindex --recreate` does, with the gateway stopped.

Each collection is compacted once its rows are written: a reindex rewrites every point, and the embedded
engine keeps the old copies (in its write-ahead log, as replaced payloads) until it is flushed and optimized.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import asyncpg

from memory_gateway.adapters.indexer import IndexedTable, Indexer
from pma_core.vectors import COLLECTION_NAMES, CollectionSpec, VectorStoreError

Progress = Callable[[str, int, int], None]
# The two statements over a whole table (count, mark every row pending) may take far longer than a request's
# statement timeout (POSTGRES_COMMAND_TIMEOUT_SECONDS, seconds) on a big table: they get their own.
WHOLE_TABLE_TIMEOUT_SECONDS = 600.0


@dataclass
class ReindexStatus:
    """What a reindex is doing; the admin endpoint returns it."""

    state: str = "idle"  # idle | running | done | failed
    collection: str | None = None
    done: int = 0
    total: int = 0
    started_at: datetime | None = None
    finished_at: datetime | None = None
    error: str | None = None
    collections: list[str] = field(default_factory=list)


class Reindexer:
    def __init__(self, *, pool: asyncpg.Pool, indexer: Indexer) -> None:
        self.pool = pool
        self.indexer = indexer

    async def run(self, tables: Sequence[IndexedTable], *, recreate: bool, on_progress: Progress) -> int:
        """Re-index every row of `tables`; returns the number of rows written. No repair pass runs meanwhile."""
        async with self.indexer.rebuilding:
            return await self._run(tables, recreate=recreate, on_progress=on_progress)

    async def _run(self, tables: Sequence[IndexedTable], *, recreate: bool, on_progress: Progress) -> int:
        written = 0
        if recreate:
            # Every collection the system uses, mirrored by a table yet or not: a gateway refuses to start
            # while any of them has the old size or embedder.
            for collection in COLLECTION_NAMES:
                await self._recreate(collection)
        for table in tables:
            # Never new vectors into a collection of another size or embedder (raises, naming --recreate).
            await self._ensure(table.collection)
            total = await self.pool.fetchval(f"SELECT count(*) FROM {table.table}", timeout=WHOLE_TABLE_TIMEOUT_SECONDS)
            await self.pool.execute(f"UPDATE {table.table} SET indexed_at = NULL", timeout=WHOLE_TABLE_TIMEOUT_SECONDS)
            written += await self._drain(table, total=int(total), on_progress=on_progress)
            await self.indexer.vectors.compact(table.collection)
        return written

    async def _recreate(self, collection: str) -> None:
        await self.indexer.vectors.drop_collection(collection)
        await self._ensure(collection)

    async def _ensure(self, collection: str) -> None:
        embedder = self.indexer.embedder
        await self.indexer.vectors.ensure_collection(
            CollectionSpec(collection, embedder.dimension, embedder=embedder.identity)
        )

    async def _drain(self, table: IndexedTable, *, total: int, on_progress: Progress) -> int:
        done = 0
        on_progress(table.collection, done, total)
        while rows := await self.indexer.load(table, None):
            if not await self.indexer.index(table, rows):
                raise VectorStoreError(f"writing {table.collection} failed; see the log, then run the reindex again")
            done += len(rows)
            on_progress(table.collection, min(done, total), total)
        return done


async def run_job(reindexer: Reindexer, tables: Sequence[IndexedTable], status: ReindexStatus) -> None:
    """The admin endpoint's background job: runs the reindex and keeps `status` current."""
    status.state, status.started_at, status.finished_at, status.error = "running", datetime.now(UTC), None, None
    status.collections = [t.collection for t in tables]

    def progress(collection: str, done: int, total: int) -> None:
        status.collection, status.done, status.total = collection, done, total

    try:
        await reindexer.run(tables, recreate=False, on_progress=progress)
    except Exception as exc:  # the job reports any failure in its status instead of vanishing
        status.state, status.error = "failed", f"{type(exc).__name__}: {exc}"
    else:
        status.state = "done"
    status.finished_at = datetime.now(UTC)
