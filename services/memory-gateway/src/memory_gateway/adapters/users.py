"""Deleting everything the memory-gateway holds for one user, from Postgres and from every collection."""

from __future__ import annotations

import asyncpg

from memory_gateway.adapters.memories import BUMP_GENERATION
from memory_gateway.adapters.sessions import SessionStore
from memory_gateway.adapters.tables import INDEXED_TABLES
from pma_core.postgres import delete_user_rows as delete_rows
from pma_core.vectors import VectorFilter, VectorStore

# Children before parents; history and chunks also cascade, listed for the counts. recall_generations is
# bumped, not deleted: a cached recall holds the generation it was computed at, and a generation back at 0
# would let the deleted memories' cached recalls match again once the user writes anew.
_TABLES = (
    "memory_history",
    "memories",
    "doc_chunks",
    "documents",
    "events",
    "daily_threads",
    "graph_edges",
    "graph_nodes",
)


async def delete_user_rows(pool: asyncpg.Pool, user_id: str) -> dict[str, int]:
    """Delete the user's rows in one transaction; returns how many rows each table lost."""
    counts = await delete_rows(pool, user_id, _TABLES)
    # After the delete: a recall between the two computes over no rows, cached under the old generation.
    await pool.execute(BUMP_GENERATION, user_id)
    return counts


async def delete_user_sessions(sessions: SessionStore, user_id: str) -> int:
    """Drop the user's short-term sessions from Valkey (nothing is summarised); how many there were."""
    session_ids = await sessions.session_ids(user_id)
    for session_id in session_ids:
        await sessions.delete(user_id, session_id)
    return len(session_ids)


async def delete_user_points(vectors: VectorStore, user_id: str) -> None:
    """Delete the user's points from every collection the gateway mirrors into."""
    for table in INDEXED_TABLES:
        await vectors.delete_by_filter(table.collection, VectorFilter(user_id=user_id))
