"""All SQL on tasks: a plan's tasks written by key (ids kept across replans), imports by external_ref, reads.

Every statement is scoped by user_id; plan tasks are also scoped by plan_id. `completed_at` is kept by a
trigger (migration 007) on every write of a status, so no statement here sets it.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from planner_engine.adapters.rows import read_model
from pma_core.contracts.tasks import ImportOutcome, TaskImportItem, TaskRead, TaskSpec, TaskStatus
from pma_core.errors import NotFoundError

Conn = asyncpg.Connection | PoolConnectionProxy
COLUMNS = (
    "id, user_id, plan_id, key, position, title, description, estimate_minutes, priority, earliest_start, deadline,"
    " depends_on, splittable, min_chunk_minutes, tags, step, status, source, external_ref, metadata,"
    " schedule_outcome AS schedule, created_at, updated_at, completed_at"
)
_UPSERT_PLAN_TASK = f"""
    INSERT INTO tasks (id, user_id, plan_id, key, position, title, description, estimate_minutes, priority,
                       earliest_start, deadline, depends_on, splittable, min_chunk_minutes, tags, step, source)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, 'planner')
    ON CONFLICT (id) DO UPDATE SET
        position = EXCLUDED.position, title = EXCLUDED.title, description = EXCLUDED.description,
        estimate_minutes = EXCLUDED.estimate_minutes, priority = EXCLUDED.priority,
        earliest_start = EXCLUDED.earliest_start, deadline = EXCLUDED.deadline, depends_on = EXCLUDED.depends_on,
        splittable = EXCLUDED.splittable, min_chunk_minutes = EXCLUDED.min_chunk_minutes, tags = EXCLUDED.tags,
        step = EXCLUDED.step
    WHERE tasks.user_id = EXCLUDED.user_id
    RETURNING {COLUMNS}"""
# xmax = 0 tells a fresh insert from an update; the WHERE skips rewriting a row that did not change, so
# re-importing an unchanged row reports `unchanged` and does not move updated_at.
_IMPORT = f"""
    INSERT INTO tasks AS t (user_id, plan_id, title, description, estimate_minutes, priority, earliest_start,
                            deadline, splittable, min_chunk_minutes, tags, status, source, external_ref, metadata)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
    ON CONFLICT (user_id, external_ref) WHERE external_ref IS NOT NULL DO UPDATE SET
        plan_id = EXCLUDED.plan_id, title = EXCLUDED.title, description = EXCLUDED.description,
        estimate_minutes = EXCLUDED.estimate_minutes, priority = EXCLUDED.priority,
        earliest_start = EXCLUDED.earliest_start, deadline = EXCLUDED.deadline, splittable = EXCLUDED.splittable,
        min_chunk_minutes = EXCLUDED.min_chunk_minutes, tags = EXCLUDED.tags, status = EXCLUDED.status,
        source = EXCLUDED.source, metadata = EXCLUDED.metadata
    WHERE (t.plan_id, t.title, t.description, t.estimate_minutes, t.priority, t.earliest_start, t.deadline,
           t.splittable, t.min_chunk_minutes, t.tags, t.status, t.source, t.metadata)
          IS DISTINCT FROM
          (EXCLUDED.plan_id, EXCLUDED.title, EXCLUDED.description, EXCLUDED.estimate_minutes, EXCLUDED.priority,
           EXCLUDED.earliest_start, EXCLUDED.deadline, EXCLUDED.splittable, EXCLUDED.min_chunk_minutes,
           EXCLUDED.tags, EXCLUDED.status, EXCLUDED.source, EXCLUDED.metadata)
    RETURNING {COLUMNS}, (xmax = 0) AS inserted"""


@dataclass(frozen=True)
class TaskFilter:
    """What a task list narrows by, all together; each window is [after, before), a bound left out is open."""

    plan_id: UUID | None = None
    status: TaskStatus | None = None
    external_ref: str | None = None
    ids: Sequence[UUID] | None = None
    completed_after: datetime | None = None
    completed_before: datetime | None = None
    deadline_after: datetime | None = None
    deadline_before: datetime | None = None
    updated_after: datetime | None = None

    def conditions(self) -> list[tuple[str, object]]:
        """(SQL condition with `{}` for its parameter, value) for each filter given."""
        ids = list(self.ids) if self.ids is not None else None
        candidates: list[tuple[str, object]] = [
            ("plan_id = {}", self.plan_id), ("status = {}", self.status), ("external_ref = {}", self.external_ref),
            ("id = ANY({}::uuid[])", ids), ("completed_at >= {}", self.completed_after),
            ("completed_at < {}", self.completed_before), ("deadline >= {}", self.deadline_after),
            ("deadline < {}", self.deadline_before), ("updated_at >= {}", self.updated_after),
        ]  # fmt: skip
        return [(condition, value) for condition, value in candidates if value is not None]


def task_read(row: asyncpg.Record | None) -> TaskRead:
    return read_model(TaskRead, row)


async def plan_tasks(conn: Conn, user_id: str, plan_ids: Sequence[UUID]) -> dict[UUID, list[TaskRead]]:
    """The tasks of these plans, in plan order."""
    rows = await conn.fetch(
        # A plan's own tasks in plan order, then tasks imported into it, oldest first.
        f"SELECT {COLUMNS} FROM tasks WHERE user_id = $1 AND plan_id = ANY($2::uuid[])"
        " ORDER BY plan_id, key IS NULL, position, created_at",
        user_id,
        list(plan_ids),
    )
    grouped: dict[UUID, list[TaskRead]] = {plan_id: [] for plan_id in plan_ids}
    for row in rows:
        grouped[row["plan_id"]].append(task_read(row))
    return grouped


async def write_plan_tasks(conn: Conn, *, user_id: str, plan_id: UUID, tasks: Sequence[TaskSpec]) -> None:
    """Make the plan's planned tasks exactly `tasks`: same key, same id (updated); new key, new id; missing key,
    deleted. Imported tasks attached to the plan (no key) are left alone."""
    existing = {
        row["key"]: row["id"]
        for row in await conn.fetch(
            "SELECT key, id FROM tasks WHERE user_id = $1 AND plan_id = $2 AND key IS NOT NULL", user_id, plan_id
        )
    }
    ids = {task.key: existing.get(task.key) or uuid.uuid4() for task in tasks}
    gone = [task_id for key, task_id in existing.items() if key not in ids]
    if gone:
        await conn.execute("DELETE FROM tasks WHERE user_id = $1 AND id = ANY($2::uuid[])", user_id, gone)
    await conn.executemany(
        _UPSERT_PLAN_TASK,
        [_plan_task_args(task, position, user_id, plan_id, ids) for position, task in enumerate(tasks)],
    )


def _plan_task_args(
    task: TaskSpec, position: int, user_id: str, plan_id: UUID, ids: dict[str, UUID]
) -> tuple[Any, ...]:
    return (
        ids[task.key], user_id, plan_id, task.key, position, task.title, task.description, task.estimate_minutes,
        task.priority, task.earliest_start, task.deadline, [ids[dep] for dep in task.depends_on], task.splittable,
        task.min_chunk_minutes, task.tags, task.step,
    )  # fmt: skip


class TaskRepository:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def import_tasks(
        self, user_id: str, source: str, items: Sequence[TaskImportItem]
    ) -> list[tuple[TaskRead, ImportOutcome]]:
        """Upsert by external_ref, all in one transaction; an unknown plan_id is a 404 and nothing is stored."""
        async with self._pool.acquire() as conn, conn.transaction():
            await self._ensure_plans(conn, user_id, {item.plan_id for item in items if item.plan_id})
            return [await self._import_one(conn, user_id, source, item) for item in items]

    async def _import_one(
        self, conn: Conn, user_id: str, source: str, item: TaskImportItem
    ) -> tuple[TaskRead, ImportOutcome]:
        row = await conn.fetchrow(
            _IMPORT, user_id, item.plan_id, item.title, item.description, item.estimate_minutes, item.priority,
            item.earliest_start, item.deadline, item.splittable, item.min_chunk_minutes, item.tags, item.status,
            source, item.external_ref, item.metadata,
        )  # fmt: skip
        if row is None:  # unchanged: the WHERE skipped the update
            row = await conn.fetchrow(
                f"SELECT {COLUMNS} FROM tasks WHERE user_id = $1 AND external_ref = $2", user_id, item.external_ref
            )
            return task_read(row), "unchanged"
        return task_read(row), "created" if row["inserted"] else "updated"

    @staticmethod
    async def _ensure_plans(conn: Conn, user_id: str, plan_ids: set[UUID]) -> None:
        if not plan_ids:
            return
        found = await conn.fetch("SELECT id FROM plans WHERE user_id = $1 AND id = ANY($2::uuid[])", user_id, plan_ids)
        missing = plan_ids - {row["id"] for row in found}
        if missing:
            raise NotFoundError(
                f"no plan {sorted(map(str, missing))[0]} for user {user_id}",
                details={"plan_ids": sorted(map(str, missing))},
            )

    async def get(self, user_id: str, task_id: UUID) -> TaskRead:
        row = await self._pool.fetchrow(f"SELECT {COLUMNS} FROM tasks WHERE user_id = $1 AND id = $2", user_id, task_id)
        if row is None:
            raise NotFoundError(f"no task {task_id} for user {user_id}", details={"task_id": str(task_id)})
        return task_read(row)

    async def list_tasks(self, user_id: str, filters: TaskFilter | None = None, *, limit: int = 100) -> list[TaskRead]:
        conditions: list[str] = ["user_id = $1"]
        args: list[object] = [user_id]
        for condition, value in (filters or TaskFilter()).conditions():
            args.append(value)
            conditions.append(condition.format(f"${len(args)}"))
        args.append(limit)
        rows = await self._pool.fetch(
            f"SELECT {COLUMNS} FROM tasks WHERE {' AND '.join(conditions)}"
            f" ORDER BY plan_id NULLS LAST, position, created_at LIMIT ${len(args)}",
            *args,
        )
        return [task_read(row) for row in rows]
