"""All SQL of long-term memories: rows, history, supersession, lexical candidates, recall generations.

Every statement is scoped by user_id. Writes run inside a transaction the domain opens through
`MemoryRepository.transaction()`, which also takes a per-user advisory lock: two concurrent remembers
of one user are serialised, so deduplication sees the other's row instead of racing it.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any
from uuid import UUID

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from memory_gateway.adapters.lexical import OR_QUERY_SQL
from memory_gateway.domain.models import MemoryRow, NewMemory, RecallScope, content_hash

_COLUMNS = """id, user_id, kind, text, key, source, metadata, importance, valid_from, valid_to,
              superseded_by, expires_at, created_at, updated_at"""


def _row(record: asyncpg.Record) -> MemoryRow:
    return MemoryRow(**dict(record))


class MemoryRepository:
    """Long-term memory rows in Postgres, the source of truth."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    @asynccontextmanager
    async def transaction(self, user_id: str) -> AsyncIterator[MemoryTx]:
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(hashtext('pma.memories:' || $1))", user_id)
            yield MemoryTx(conn, user_id)

    async def get(self, user_id: str, memory_id: UUID) -> MemoryRow | None:
        record = await self.pool.fetchrow(
            f"SELECT {_COLUMNS} FROM memories WHERE user_id = $1 AND id = $2", user_id, memory_id
        )
        return _row(record) if record else None

    async def get_many(self, user_id: str, ids: Sequence[UUID]) -> list[MemoryRow]:
        records = await self.pool.fetch(
            f"SELECT {_COLUMNS} FROM memories WHERE user_id = $1 AND id = ANY($2::uuid[])", user_id, list(ids)
        )
        return [_row(r) for r in records]

    async def history(self, user_id: str, memory_id: UUID) -> list[asyncpg.Record]:
        return list(
            await self.pool.fetch(
                """SELECT action, old_text, new_text, details, created_at FROM memory_history
                   WHERE user_id = $1 AND memory_id = $2 ORDER BY id""",
                user_id,
                memory_id,
            )
        )

    async def generation(self, user_id: str) -> int:
        value = await self.pool.fetchval("SELECT generation FROM recall_generations WHERE user_id = $1", user_id)
        return int(value or 0)

    async def lexical(self, scope: RecallScope, query: str, *, limit: int) -> list[tuple[UUID, float]]:
        """Full-text candidates, best first, already restricted by every filter of the scope."""
        where, args = _scope_filter(scope, first_arg=3)
        records = await self.pool.fetch(
            f"""SELECT m.id, ts_rank_cd(m.search_tsv, q) AS rank
                FROM memories m, {OR_QUERY_SQL} AS q
                WHERE m.user_id = $1 AND m.search_tsv @@ q {where}
                ORDER BY rank DESC, m.created_at DESC LIMIT {int(limit)}""",
            scope.user_id,
            query,
            *args,
        )
        return [(r["id"], float(r["rank"])) for r in records]

    async def in_scope(self, scope: RecallScope, ids: Sequence[UUID]) -> list[MemoryRow]:
        """The rows among `ids` that pass every filter of the scope (the index may be behind Postgres)."""
        where, args = _scope_filter(scope, first_arg=3)
        records = await self.pool.fetch(
            f"SELECT {_COLUMNS} FROM memories m WHERE m.user_id = $1 AND m.id = ANY($2::uuid[]) {where}",
            scope.user_id,
            list(ids),
            *args,
        )
        return [_row(r) for r in records]


class MemoryTx:
    """The statements of one write transaction, all for one user."""

    def __init__(self, conn: asyncpg.Connection | PoolConnectionProxy, user_id: str) -> None:
        self.conn = conn
        self.user_id = user_id

    async def by_idempotency_key(self, key: str) -> MemoryRow | None:
        record = await self.conn.fetchrow(
            f"SELECT {_COLUMNS} FROM memories WHERE user_id = $1 AND idempotency_key = $2", self.user_id, key
        )
        return _row(record) if record else None

    async def active_by_hash(self, digest: str) -> MemoryRow | None:
        record = await self.conn.fetchrow(
            f"""SELECT {_COLUMNS} FROM memories WHERE user_id = $1 AND content_hash = $2 AND valid_to IS NULL
                AND (expires_at IS NULL OR expires_at > now()) ORDER BY created_at LIMIT 1""",
            self.user_id,
            digest,
        )
        return _row(record) if record else None

    async def active(self, ids: Sequence[UUID]) -> list[MemoryRow]:
        records = await self.conn.fetch(
            f"""SELECT {_COLUMNS} FROM memories WHERE user_id = $1 AND id = ANY($2::uuid[]) AND valid_to IS NULL
                AND (expires_at IS NULL OR expires_at > now()) FOR UPDATE""",
            self.user_id,
            list(ids),
        )
        return [_row(r) for r in records]

    async def active_with_key(self, key: str) -> list[MemoryRow]:
        records = await self.conn.fetch(
            f"SELECT {_COLUMNS} FROM memories WHERE user_id = $1 AND key = $2 AND valid_to IS NULL FOR UPDATE",
            self.user_id,
            key,
        )
        return [_row(r) for r in records]

    async def lock(self, memory_id: UUID) -> MemoryRow | None:
        record = await self.conn.fetchrow(
            f"SELECT {_COLUMNS} FROM memories WHERE user_id = $1 AND id = $2 FOR UPDATE", self.user_id, memory_id
        )
        return _row(record) if record else None

    async def insert(self, memory: NewMemory) -> MemoryRow:
        record = await self.conn.fetchrow(
            f"""INSERT INTO memories (user_id, kind, text, key, source, metadata, importance, expires_at,
                                      idempotency_key, content_hash)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING {_COLUMNS}""",
            self.user_id,
            memory.kind,
            memory.text,
            memory.key,
            memory.source,
            memory.metadata,
            memory.importance,
            memory.expires_at,
            memory.idempotency_key,
            content_hash(memory.kind, memory.text),
        )
        assert record is not None
        return _row(record)

    async def update(self, memory_id: UUID, changes: dict[str, Any]) -> MemoryRow:
        """Apply column changes; a new text or kind also resets the index state and the fingerprint."""
        changes = dict(changes)
        if "text" in changes or "kind" in changes:
            current = await self.lock(memory_id)
            assert current is not None
            kind, text = changes.get("kind", current.kind), changes.get("text", current.text)
            changes["content_hash"] = content_hash(kind, text)
            changes["indexed_at"] = None
        assignments = ", ".join(f"{column} = ${i}" for i, column in enumerate(changes, start=3))
        record = await self.conn.fetchrow(
            f"UPDATE memories SET {assignments} WHERE user_id = $1 AND id = $2 RETURNING {_COLUMNS}",
            self.user_id,
            memory_id,
            *changes.values(),
        )
        assert record is not None
        return _row(record)

    async def supersede(self, old_ids: Sequence[UUID], new_id: UUID) -> None:
        await self.conn.execute(
            """UPDATE memories SET valid_to = now(), superseded_by = $3
               WHERE user_id = $1 AND id = ANY($2::uuid[]) AND valid_to IS NULL""",
            self.user_id,
            list(old_ids),
            new_id,
        )

    async def delete(self, memory_id: UUID) -> bool:
        deleted = await self.conn.fetchval(
            "DELETE FROM memories WHERE user_id = $1 AND id = $2 RETURNING id", self.user_id, memory_id
        )
        return deleted is not None

    async def record(
        self, memory_id: UUID, action: str, *, old_text: str | None, new_text: str | None, details: dict[str, Any]
    ) -> None:
        await self.conn.execute(
            """INSERT INTO memory_history (user_id, memory_id, action, old_text, new_text, details)
               VALUES ($1, $2, $3, $4, $5, $6)""",
            self.user_id,
            memory_id,
            action,
            old_text,
            new_text,
            details,
        )

    async def bump_generation(self) -> None:
        await self.conn.execute(
            """INSERT INTO recall_generations (user_id, generation) VALUES ($1, 1)
               ON CONFLICT (user_id) DO UPDATE SET generation = recall_generations.generation + 1""",
            self.user_id,
        )


def _scope_filter(scope: RecallScope, *, first_arg: int) -> tuple[str, list[Any]]:
    """SQL conditions (on alias `m`) and their arguments for every filter of a recall scope."""
    clauses: list[str] = []
    args: list[Any] = []

    def arg(value: Any) -> str:
        args.append(value)
        return f"${first_arg + len(args) - 1}"

    if not scope.include_superseded:
        clauses.append("m.valid_to IS NULL")
    if not scope.include_expired:
        clauses.append(f"(m.expires_at IS NULL OR m.expires_at > {arg(scope.now)})")
    if scope.kinds:
        clauses.append(f"m.kind = ANY({arg(list(scope.kinds))}::text[])")
    if scope.sources:
        clauses.append(f"m.source = ANY({arg(list(scope.sources))}::text[])")
    if scope.metadata:
        clauses.append(f"m.metadata @> {arg(json.loads(json.dumps(scope.metadata)))}::jsonb")
    if scope.created_after:
        clauses.append(f"m.created_at >= {arg(scope.created_after)}")
    if scope.created_before:
        clauses.append(f"m.created_at < {arg(scope.created_before)}")
    return "".join(f" AND {c}" for c in clauses), args
