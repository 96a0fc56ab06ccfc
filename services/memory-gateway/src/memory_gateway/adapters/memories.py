"""All SQL of long-term memories: rows, history, supersession, lexical candidates, recall generations.

Every statement is scoped by user_id. Writes run inside a transaction the domain opens through
`MemoryRepository.transaction()`, which also takes a per-user advisory lock: two concurrent remembers
of one user are serialised, so deduplication sees the other's row instead of racing it.
"""

from __future__ import annotations

import contextlib
import json
from collections import OrderedDict
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any
from uuid import UUID

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from memory_gateway.adapters.lexical import idf_weighted_sql
from memory_gateway.domain.dedupe import Known
from memory_gateway.domain.models import (
    HistoryEntry,
    LexicalCandidates,
    MemoryRow,
    NewMemory,
    RecallScope,
    ScopedRow,
    content_hash,
)

_COLUMNS = """id, user_id, kind, text, key, source, metadata, importance, valid_from, valid_to,
              superseded_by, expires_at, created_at, updated_at"""
_FIELDS = [name.strip() for name in _COLUMNS.split(",")]
# Every write moves the user's recall generation on (cached recalls of an older one stop answering); so does
# deleting the user (adapters/users.py), which must never reset it.
BUMP_GENERATION = """INSERT INTO recall_generations (user_id, generation) VALUES ($1, 1)
    ON CONFLICT (user_id) DO UPDATE SET generation = recall_generations.generation + 1"""


def _begin_locked(user_id: str) -> str:
    """BEGIN and the user's advisory lock in one round trip (a write used to spend two before its first
    statement). Several statements go only as a simple query, which takes no parameters: the user id
    travels as hex digits, which need no quoting, and is decoded back to the same text, so the lock key
    (`hashtext` of the same string) is the one every gateway version takes."""
    user_text = f"convert_from(decode('{user_id.encode().hex()}', 'hex'), 'UTF8')"
    return f"BEGIN; SELECT pg_advisory_xact_lock(hashtext('pma.memories:' || {user_text}))"


# Every column of a row but its id, and the row's lexemes: what recall reads of a candidate.
_SCOPED_COLUMNS = ", ".join(f"m.{name}" for name in _FIELDS[1:]) + ", tsvector_to_array(m.search_tsv) AS lexemes_of_row"


def _row(record: asyncpg.Record) -> MemoryRow:
    fields = {name: record[name] for name in _FIELDS}
    # `importance` is a real (float4): 0.8 comes back as 0.800000011920929; six digits round-trip what was sent.
    fields["importance"] = round(fields["importance"], 6)
    return MemoryRow(**fields)


def _scoped(record: asyncpg.Record) -> ScopedRow:
    return _row(record), frozenset(record["lexemes_of_row"])


class StoreSizes:
    """How many memories recently seen users hold, each as of a generation of their memories (so exact):
    the N of the lexical IDF, which then needs no count while the user writes nothing."""

    def __init__(self, capacity: int = 10_000) -> None:
        self.capacity = capacity
        self._sizes: OrderedDict[str, tuple[int, int]] = OrderedDict()

    def get(self, user_id: str) -> tuple[int | None, int | None]:
        """(generation, size) last seen for the user, or (None, None)."""
        known = self._sizes.get(user_id)
        if known is None:
            return None, None
        self._sizes.move_to_end(user_id)
        return known

    def put(self, user_id: str, generation: int | None, size: int) -> None:
        if generation is None:  # a user who never wrote: nothing to key the size by
            return
        self._sizes[user_id] = (generation, size)
        self._sizes.move_to_end(user_id)
        if len(self._sizes) > self.capacity:
            self._sizes.popitem(last=False)


class MemoryRepository:
    """Long-term memory rows in Postgres, the source of truth."""

    def __init__(self, pool: asyncpg.Pool, *, sizes: StoreSizes) -> None:
        # `sizes` outlives the request (the lifespan's): a fresh one per call would recount every time.
        self.pool = pool
        self.sizes = sizes

    @asynccontextmanager
    async def transaction(self, user_id: str) -> AsyncIterator[MemoryTx]:
        """A transaction holding the user's lock; committed when the block ends, rolled back if it raises."""
        async with self.pool.acquire() as conn:
            await conn.execute(_begin_locked(user_id))
            try:
                yield MemoryTx(conn, user_id)
            except BaseException:
                # A connection a timeout broke cannot roll back; the pool then closes it, which does.
                with contextlib.suppress(asyncpg.PostgresError, asyncpg.InterfaceError, OSError):
                    await conn.execute("ROLLBACK")
                raise
            await conn.execute("COMMIT")

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

    async def history(self, user_id: str, memory_id: UUID) -> list[HistoryEntry]:
        records = await self.pool.fetch(
            """SELECT action, old_text, new_text, details, created_at FROM memory_history
               WHERE user_id = $1 AND memory_id = $2 ORDER BY id""",
            user_id,
            memory_id,
        )
        return [HistoryEntry(**dict(record)) for record in records]

    async def generation(self, user_id: str) -> int:
        value = await self.pool.fetchval("SELECT generation FROM recall_generations WHERE user_id = $1", user_id)
        return int(value or 0)

    async def lexical(self, scope: RecallScope, query: str, *, limit: int) -> LexicalCandidates:
        """Full-text candidates, best first by IDF-weighted overlap, already restricted by every filter;
        with their rows."""
        where, args = _scope_filter(scope, first_arg=5)
        sql = idf_weighted_sql(
            table="memories",
            alias="m",
            generations="recall_generations",
            where=where,
            limit=limit,
            columns=_SCOPED_COLUMNS,
        )
        records = await self.pool.fetch(sql, scope.user_id, query, *self.sizes.get(scope.user_id), *args)
        if not records:
            # No memory in scope shares a word with the query: the weights cannot score anything either.
            return LexicalCandidates(ranked=[], weights={})
        self.sizes.put(scope.user_id, records[0]["generation"], records[0]["total"])
        return LexicalCandidates(
            ranked=[(r["id"], float(r["score"])) for r in records],
            weights=dict(zip(records[0]["lexemes"], records[0]["idfs"], strict=True)),
            rows={r["id"]: _scoped(r) for r in records},
        )

    async def in_scope(self, scope: RecallScope, ids: Sequence[UUID]) -> list[ScopedRow]:
        """The rows among `ids` that pass every filter of the scope (the index may be behind Postgres),
        each with its lexemes, so that candidates the full-text search did not return can be scored too."""
        where, args = _scope_filter(scope, first_arg=3)
        records = await self.pool.fetch(
            f"SELECT m.id, {_SCOPED_COLUMNS} FROM memories m WHERE m.user_id = $1 AND m.id = ANY($2::uuid[]) {where}",
            scope.user_id,
            list(ids),
            *args,
        )
        return [_scoped(r) for r in records]


class MemoryTx:
    """The statements of one write transaction, all for one user."""

    def __init__(self, conn: asyncpg.Connection | PoolConnectionProxy, user_id: str) -> None:
        self.conn = conn
        self.user_id = user_id
        # Whether this transaction moved the recall generation already (`insert_many` does, in its own
        # statement). Once is enough: every write of the transaction becomes visible at the same commit as
        # the move, so no cached recall or store size read before it can outlive it; a remember of new
        # memories then saves the round trip of a second move.
        self._generation_moved = False

    async def known(self, items: Sequence[NewMemory]) -> Known:
        """The items' idempotency keys already used by this user, and their exact texts already active."""
        keys = [item.idempotency_key for item in items if item.idempotency_key]
        hashes = [content_hash(item.kind, item.text) for item in items]
        records = await self.conn.fetch(
            """SELECT idempotency_key AS value, true AS is_key FROM memories
               WHERE user_id = $1 AND idempotency_key = ANY($2::text[])
               UNION ALL
               SELECT content_hash, false FROM memories
               WHERE user_id = $1 AND content_hash = ANY($3::text[]) AND valid_to IS NULL
                 AND (expires_at IS NULL OR expires_at > now())""",
            self.user_id,
            keys,
            hashes,
        )
        return Known(
            keys={r["value"] for r in records if r["is_key"]}, hashes={r["value"] for r in records if not r["is_key"]}
        )

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

    async def insert_many(self, memories: Sequence[tuple[UUID, NewMemory]]) -> dict[UUID, MemoryRow]:
        """Insert new memories and their "created" history in one statement; the rows by id."""
        columns = list(zip(*((memory_id, *_insert_values(memory)) for memory_id, memory in memories), strict=True))
        records = await self.conn.fetch(_INSERT_MANY, self.user_id, *map(list, columns))
        self._generation_moved = True
        return {record["id"]: _row(record) for record in records}

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
        if not self._generation_moved:
            await self.conn.execute(BUMP_GENERATION, self.user_id)
            self._generation_moved = True


# One row per new memory from parallel arrays, its history and the user's next recall generation in the
# same statement (a data-modifying CTE runs whether or not the outer query reads it). Metadata travels as
# JSON text: the pool's jsonb codec has no array form.
_INSERT_MANY = f"""
    WITH new AS (
        INSERT INTO memories (id, user_id, kind, text, key, source, metadata, importance, expires_at,
                              idempotency_key, content_hash)
        SELECT id, $1, kind, text, key, source, metadata::jsonb, importance, expires_at, idempotency_key, hash
        FROM unnest($2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::real[],
                    $9::timestamptz[], $10::text[], $11::text[])
             AS item(id, kind, text, key, source, metadata, importance, expires_at, idempotency_key, hash)
        RETURNING {_COLUMNS}
    ), history AS (
        INSERT INTO memory_history (user_id, memory_id, action, old_text, new_text, details)
        SELECT user_id, id, 'created', NULL, text, jsonb_build_object('source', source) FROM new
    ), generation AS (
        {BUMP_GENERATION}
    )
    SELECT * FROM new"""


def _insert_values(memory: NewMemory) -> tuple[Any, ...]:
    """The columns of `_INSERT_MANY` after the id, for one memory."""
    return (
        memory.kind,
        memory.text,
        memory.key,
        memory.source,
        json.dumps(dict(memory.metadata)),
        memory.importance,
        memory.expires_at,
        memory.idempotency_key,
        content_hash(memory.kind, memory.text),
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
