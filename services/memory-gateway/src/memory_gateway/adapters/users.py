"""Deleting everything the memory-gateway holds for one user, from Postgres and from every collection."""

from __future__ import annotations

import asyncpg

from memory_gateway.adapters.tables import INDEXED_TABLES
from pma_core.vectors import VectorFilter, VectorStore

# Children before parents; history and chunks also cascade, listed for the counts.
_TABLES = (
    "memory_history",
    "memories",
    "recall_generations",
    "doc_chunks",
    "documents",
    "events",
    "daily_threads",
    "graph_edges",
    "graph_nodes",
)


async def delete_user_rows(pool: asyncpg.Pool, user_id: str) -> dict[str, int]:
    """Delete the user's rows in one transaction; returns how many rows each table lost."""
    counts: dict[str, int] = {}
    async with pool.acquire() as conn, conn.transaction():
        for table in _TABLES:
            status = await conn.execute(f"DELETE FROM {table} WHERE user_id = $1", user_id)
            counts[table] = int(status.split()[-1])
    return counts


async def delete_user_points(vectors: VectorStore, user_id: str) -> None:
    """Delete the user's points from every collection the gateway mirrors into."""
    for table in INDEXED_TABLES:
        await vectors.delete_by_filter(table.collection, VectorFilter(user_id=user_id))
