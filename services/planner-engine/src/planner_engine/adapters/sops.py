"""All SQL on the SOP library: versions are inserted, never updated; the latest version of a name is current."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

import asyncpg

from planner_engine.adapters.rows import read_model
from planner_engine.domain.models import SopCandidate, SopContent
from pma_core.contracts.library import SopRead
from pma_core.errors import NotFoundError

_COLUMNS = "id, user_id, name, version, title, summary, intent, steps, tasks, tags, source_plan_id, created_at"
_INSERT = f"""
    INSERT INTO sops (user_id, name, version, title, summary, intent, steps, tasks, tags, source_plan_id,
                      embedding, embedder)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
    RETURNING {_COLUMNS}"""
# The newest version of each name; SOPs are few per user, so this scans the user's rows only.
_LATEST = f"""
    SELECT DISTINCT ON (name) {_COLUMNS}, embedding, embedder FROM sops
    WHERE user_id = $1 ORDER BY name, version DESC"""

# The same text as matching.embedding_text, built in SQL so that no SOP record is built to match.
_CANDIDATES = """
    SELECT id, embedding, embedder,
           title || '. ' || intent || '. ' || summary || '. '
           || coalesce((SELECT string_agg(step ->> 'title', ' ' ORDER BY position)
                        FROM jsonb_array_elements(steps) WITH ORDINALITY AS s(step, position)), '') AS text
    FROM (SELECT DISTINCT ON (name) * FROM sops WHERE user_id = $1 ORDER BY name, version DESC) AS latest
    ORDER BY created_at DESC"""


def sop_read(row: asyncpg.Record | None) -> SopRead:
    return read_model(SopRead, row)


class SopRepository:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def get(self, user_id: str, sop_id: UUID) -> SopRead:
        row = await self._pool.fetchrow(f"SELECT {_COLUMNS} FROM sops WHERE user_id = $1 AND id = $2", user_id, sop_id)
        if row is None:
            raise NotFoundError(f"no SOP {sop_id} for user {user_id}", details={"sop_id": str(sop_id)})
        return sop_read(row)

    async def latest(self, user_id: str) -> list[tuple[SopRead, list[float] | None, str | None]]:
        """The current version of each SOP with its stored vector and the embedder that made it."""
        rows = await self._pool.fetch(_LATEST, user_id)
        rows = sorted(rows, key=lambda row: row["created_at"], reverse=True)
        return [(sop_read(row), row["embedding"], row["embedder"]) for row in rows]

    async def candidates(self, user_id: str) -> list[SopCandidate]:
        """The current version of each SOP as matching needs it, newest first: no steps, tasks or rows built."""
        rows = await self._pool.fetch(_CANDIDATES, user_id)
        return [
            SopCandidate(id=row["id"], text=row["text"], vector=row["embedding"], embedder=row["embedder"])
            for row in rows
        ]

    async def versions(self, user_id: str, name: str) -> list[SopRead]:
        rows = await self._pool.fetch(
            f"SELECT {_COLUMNS} FROM sops WHERE user_id = $1 AND name = $2 ORDER BY version DESC", user_id, name
        )
        return [sop_read(row) for row in rows]

    async def add_version(self, user_id: str, name: str, content: SopContent) -> SopRead:
        """The next version of `name`; the per-name advisory lock orders concurrent edits."""
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended($1 || '/' || $2, 0))", user_id, name)
            version = await conn.fetchval(
                "SELECT coalesce(max(version), 0) + 1 FROM sops WHERE user_id = $1 AND name = $2", user_id, name
            )
            row = await conn.fetchrow(_INSERT, *self._args(user_id, name, version, content))
            return sop_read(row)

    async def name_taken(self, user_id: str, name: str) -> bool:
        taken: bool = await self._pool.fetchval(
            "SELECT EXISTS (SELECT 1 FROM sops WHERE user_id = $1 AND name = $2)", user_id, name
        )
        return taken

    async def store_embedding(self, sop_id: UUID, embedding: Sequence[float], embedder: str) -> None:
        """Cache a re-computed vector (the embedder changed since the SOP was saved)."""
        await self._pool.execute(
            "UPDATE sops SET embedding = $2, embedder = $3 WHERE id = $1", sop_id, list(embedding), embedder
        )

    @staticmethod
    def _args(user_id: str, name: str, version: int, content: SopContent) -> tuple[object, ...]:
        return (
            user_id, name, version, content.title, content.summary, content.intent,
            [step.model_dump(mode="json") for step in content.steps],
            [task.model_dump(mode="json") for task in content.tasks], list(content.tags), content.source_plan_id,
            list(content.embedding), content.embedder,
        )  # fmt: skip
