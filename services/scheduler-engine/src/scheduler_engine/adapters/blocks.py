"""All SQL of calendar_blocks and calendar_changes: the blocks runs keep, and what the user did to them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

import asyncpg

from pma_core.contracts.scheduling import CalendarBlockRead
from scheduler_engine.domain.blocks import BlockPlan
from scheduler_engine.domain.intake import RunSpec
from scheduler_engine.domain.models import CalendarBlock, CalendarChange, Interval, StoredBlock

_COLUMNS = "id, run_id, task_id, plan_id, title, start_at, end_at, status, pinned, sequence"
# Minutes of work done per task: blocks marked done, and planned ones whose time is over.
_DONE = """
    SELECT task_id, sum(extract(epoch FROM end_at - start_at) / 60)::int AS minutes FROM calendar_blocks
    WHERE user_id = $1 AND (status = 'done' OR (status = 'planned' AND end_at <= $2)) GROUP BY task_id"""


def _block(row: asyncpg.Record) -> StoredBlock:
    return StoredBlock(
        block_id=row["id"], run_id=row["run_id"], task_id=row["task_id"], plan_id=row["plan_id"], title=row["title"],
        start=row["start_at"], end=row["end_at"], status=row["status"], pinned=row["pinned"], sequence=row["sequence"],
    )  # fmt: skip


def _listed(row: asyncpg.Record) -> CalendarBlockRead:
    return CalendarBlockRead(
        id=row["id"], run_id=row["run_id"], plan_id=row["plan_id"], task_id=row["task_id"], title=row["title"],
        start=row["start_at"], end=row["end_at"], status=row["status"], pinned=row["pinned"],
        sequence=row["sequence"], created_at=row["created_at"], updated_at=row["updated_at"],
    )  # fmt: skip


class BlockRepository:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def settle_past(self, user_id: str, now: datetime) -> dict[UUID, int]:
        async with self._pool.acquire() as conn, conn.transaction():
            settled = await conn.fetch(
                "UPDATE calendar_blocks SET status = 'done' WHERE user_id = $1 AND status = 'planned' AND end_at <= $2"
                " RETURNING id, task_id, start_at, end_at",
                user_id,
                now,
            )
            await conn.executemany(
                "INSERT INTO calendar_changes (user_id, block_id, task_id, kind, start_at, end_at)"
                " VALUES ($1, $2, $3, 'done', $4, $5)",
                [(user_id, r["id"], r["task_id"], r["start_at"], r["end_at"]) for r in settled],
            )
            rows = await conn.fetch(_DONE, user_id, now)
        return {row["task_id"]: row["minutes"] for row in rows}

    async def done_minutes(self, user_id: str, now: datetime) -> dict[UUID, int]:
        return {row["task_id"]: row["minutes"] for row in await self._pool.fetch(_DONE, user_id, now)}

    async def active(self, user_id: str, window: Interval) -> list[StoredBlock]:
        rows = await self._pool.fetch(
            f"SELECT {_COLUMNS} FROM calendar_blocks WHERE user_id = $1 AND status = 'planned'"
            " AND end_at > $2 AND start_at < $3 ORDER BY start_at",
            user_id,
            window.start,
            window.end,
        )
        return [_block(row) for row in rows]

    async def apply(self, run_id: UUID, spec: RunSpec, titles: dict[UUID, str], plan: BlockPlan) -> None:
        async with self._pool.acquire() as conn, conn.transaction():
            if plan.replaced:
                await conn.execute(
                    "UPDATE calendar_blocks SET status = 'replaced' WHERE user_id = $1 AND id = ANY($2::uuid[])",
                    spec.user_id,
                    list(plan.replaced),
                )
            for write in plan.writes:
                if write.new:
                    await conn.execute(
                        "INSERT INTO calendar_blocks (id, user_id, run_id, plan_id, task_id, title, start_at, end_at)"
                        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                        write.block_id, spec.user_id, run_id, spec.plan_id, write.task_id, titles[write.task_id],
                        write.start, write.end,
                    )  # fmt: skip
                else:
                    await conn.execute(
                        """UPDATE calendar_blocks SET run_id = $3, start_at = $4, end_at = $5, title = $6,
                               sequence = sequence + CASE WHEN $7 THEN 1 ELSE 0 END
                           WHERE user_id = $1 AND id = $2""",
                        spec.user_id, write.block_id, run_id, write.start, write.end, titles[write.task_id],
                        write.moved,
                    )  # fmt: skip
            # The blocks it kept where they were (frozen or pinned) belong to this run too.
            await conn.execute(
                "UPDATE calendar_blocks SET run_id = $2 WHERE user_id = $1 AND status = 'planned'"
                " AND task_id = ANY($3::uuid[]) AND run_id <> $2",
                spec.user_id, run_id, [task.id for task in spec.tasks],
            )  # fmt: skip

    async def for_run(self, run_id: UUID) -> list[StoredBlock]:
        rows = await self._pool.fetch(
            f"SELECT {_COLUMNS} FROM calendar_blocks WHERE run_id = $1 AND status IN ('planned', 'done')"
            " ORDER BY start_at",
            run_id,
        )
        return [_block(row) for row in rows]

    async def deleted_by_user(self, user_id: str, task_ids: Sequence[UUID], *, restore: bool) -> set[UUID]:
        if restore:
            await self._pool.execute(
                "UPDATE calendar_blocks SET status = 'replaced' WHERE user_id = $1 AND status = 'deleted'"
                " AND task_id = ANY($2::uuid[])",
                user_id,
                list(task_ids),
            )
            return set()
        rows = await self._pool.fetch(
            "SELECT DISTINCT task_id FROM calendar_blocks WHERE user_id = $1 AND status = 'deleted'"
            " AND task_id = ANY($2::uuid[])",
            user_id,
            list(task_ids),
        )
        return {row["task_id"] for row in rows}

    async def listed(
        self, user_id: str, window: Interval, *, statuses: Sequence[str], limit: int
    ) -> list[CalendarBlockRead]:
        """The user's blocks of these statuses that overlap `window` (end after its start, start before its
        end), by start. `replaced` is never listed, whatever `statuses` says: those blocks are history."""
        rows = await self._pool.fetch(
            f"SELECT {_COLUMNS}, created_at, updated_at FROM calendar_blocks"
            " WHERE user_id = $1 AND status <> 'replaced' AND status = ANY($2::text[])"
            " AND end_at > $3 AND start_at < $4 ORDER BY start_at, id LIMIT $5",
            user_id, list(statuses), window.start, window.end, limit,
        )  # fmt: skip
        return [_listed(row) for row in rows]

    async def calendar_view(self, user_id: str, window: Interval) -> list[CalendarBlock]:
        return [
            CalendarBlock(block.block_id, block.task_id, block.title, block.start, block.end, block.sequence)
            for block in await self.active(user_id, window)
        ]

    async def feed(self, user_id: str) -> list[StoredBlock]:
        """Every block the ICS feed shows: planned and done (cancelled ones leave the feed)."""
        rows = await self._pool.fetch(
            f"SELECT {_COLUMNS} FROM calendar_blocks WHERE user_id = $1 AND status IN ('planned', 'done')"
            " ORDER BY start_at",
            user_id,
        )
        return [_block(row) for row in rows]

    async def record_changes(self, user_id: str, changes: list[CalendarChange]) -> int:
        """Apply what the user did on their calendar: a moved block is pinned where they put it, a deleted
        one is marked deleted (its task needs attention, it is not recreated). Returns the changes kept.

        Idempotent: a run's pull and the sweep's may read the same batch; a move to where the block already
        is, or a deletion of a block no longer planned, records nothing."""
        kept = 0
        async with self._pool.acquire() as conn, conn.transaction():
            for change in changes:
                status = "deleted" if change.kind == "deleted" else "planned"
                row = await conn.fetchrow(
                    """UPDATE calendar_blocks SET status = $3, pinned = pinned OR $4 = 'moved',
                           start_at = coalesce($5, start_at), end_at = coalesce($6, end_at)
                       WHERE user_id = $1 AND id = $2 AND status = 'planned'
                         AND ($4 <> 'moved' OR start_at IS DISTINCT FROM $5 OR end_at IS DISTINCT FROM $6)
                       RETURNING task_id""",
                    user_id, change.block_id, status, change.kind, change.start, change.end,
                )  # fmt: skip
                if row is not None:
                    await conn.execute(
                        "INSERT INTO calendar_changes (user_id, block_id, task_id, kind, start_at, end_at)"
                        " VALUES ($1, $2, $3, $4, $5, $6)",
                        user_id, change.block_id, row["task_id"], change.kind, change.start, change.end,
                    )  # fmt: skip
                    kept += 1
        return kept

    async def changes(self, user_id: str, since: datetime | None, limit: int) -> list[asyncpg.Record]:
        return list(
            await self._pool.fetch(
                "SELECT id, block_id, task_id, kind, start_at, end_at, detected_at FROM calendar_changes"
                " WHERE user_id = $1 AND ($2::timestamptz IS NULL OR detected_at >= $2) ORDER BY id LIMIT $3",
                user_id,
                since,
                limit,
            )
        )
