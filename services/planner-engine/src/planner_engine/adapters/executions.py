"""All SQL on execution_runs: record (idempotent by key), finish, list, and the history estimates learn from."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from planner_engine.adapters.rows import read_model
from planner_engine.domain.estimates import FinishedRun
from pma_core.contracts.executions import ExecutionCreate, ExecutionFinish, ExecutionRead
from pma_core.errors import ConflictError, NotFoundError, ValidationFailedError

_COLUMNS = (
    "id, user_id, run_kind, task_id, plan_id, subject, status, started_at, finished_at, estimated_minutes,"
    " actual_minutes, outcome, notes, metadata, idempotency_key, created_at"
)
# Defaults come from the task when one is named: its plan, title and estimate. started_at defaults to now,
# but never to after the given finished_at (least() skips a NULL): a run finished an hour ago and recorded
# now without its start would otherwise end before it starts, which the table's checks refuse.
# actual_minutes defaults to the wall-clock length of a finished run.
_INSERT = f"""
    WITH task AS (SELECT plan_id, title, estimate_minutes FROM tasks WHERE user_id = $1 AND id = $3),
         run AS (SELECT coalesce($7, least(now(), $8::timestamptz)) AS started_at)
    INSERT INTO execution_runs (user_id, run_kind, task_id, plan_id, subject, status, started_at, finished_at,
                                estimated_minutes, actual_minutes, outcome, notes, metadata, idempotency_key)
    SELECT $1, $2, $3, coalesce($4, (SELECT plan_id FROM task)),
           coalesce(nullif($5, ''), (SELECT title FROM task), ''), $6, run.started_at, $8,
           coalesce($9, (SELECT estimate_minutes FROM task)),
           coalesce($10, CASE WHEN $8::timestamptz IS NOT NULL
                              THEN round(extract(epoch FROM $8::timestamptz - run.started_at) / 60)::int END),
           $11, $12, $13, $14
    FROM run
    ON CONFLICT (user_id, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
    RETURNING {_COLUMNS}"""
# A finish given no moment is now, or the start when that is later (a start may be a little ahead of this
# clock); a given moment before the start matches no row here, and finish() says why.
_FINISH = f"""
    WITH f AS (SELECT $4::timestamptz AS given)
    UPDATE execution_runs SET status = $3, finished_at = coalesce(f.given, greatest(now(), started_at)),
        actual_minutes = coalesce(
            $5, round(extract(epoch FROM coalesce(f.given, greatest(now(), started_at)) - started_at) / 60)::int),
        outcome = CASE WHEN $6 = '' THEN outcome ELSE $6 END, notes = CASE WHEN $7 = '' THEN notes ELSE $7 END
    FROM f
    WHERE user_id = $1 AND id = $2 AND status = 'running' AND (f.given IS NULL OR f.given >= started_at)
    RETURNING {_COLUMNS}"""
# The newest finished runs with a duration, with their task's title and tags (estimates.py).
_HISTORY = """
    SELECT coalesce(t.title, r.subject) AS title, coalesce(t.tags, '{}') AS tags, r.estimated_minutes,
           r.actual_minutes
    FROM execution_runs r LEFT JOIN tasks t ON t.user_id = r.user_id AND t.id = r.task_id
    WHERE r.user_id = $1 AND r.status = 'succeeded' AND r.actual_minutes > 0
    ORDER BY r.finished_at DESC NULLS LAST LIMIT $2"""


def _read(row: asyncpg.Record | None) -> ExecutionRead:
    return read_model(ExecutionRead, row)


def encode_cursor(run: ExecutionRead) -> str:
    """Where a page ended: the last run's (started_at, id), the order's key, so runs sharing a started_at
    are neither lost nor repeated across pages."""
    return base64.urlsafe_b64encode(f"{run.started_at.isoformat()}|{run.id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, UUID]:
    """The (started_at, id) of a cursor; anything this service did not make is a 422."""
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        started, run_id = text.split("|")
        moment = datetime.fromisoformat(started)
        if moment.tzinfo is None:
            raise ValueError("naive moment")
        return moment, UUID(run_id)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        message = "not a cursor this endpoint returned (send back next_cursor as it came)"
        raise ValidationFailedError(
            f"invalid request: query.cursor: {message}",
            details=[{"field": "query.cursor", "message": message, "type": "invalid_cursor"}],
        ) from None


class ExecutionRepository:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def record(self, run: ExecutionCreate) -> tuple[ExecutionRead, bool]:
        """(run, created); the same idempotency key returns the first run. Unknown task or plan: 404."""
        async with self._pool.acquire() as conn, conn.transaction():
            await self._ensure_owned(conn, run.user_id, "tasks", run.task_id, "task")
            await self._ensure_owned(conn, run.user_id, "plans", run.plan_id, "plan")
            row = await conn.fetchrow(
                _INSERT, run.user_id, run.run_kind, run.task_id, run.plan_id, run.subject, run.status, run.started_at,
                run.finished_at, run.estimated_minutes, run.actual_minutes, run.outcome, run.notes, run.metadata,
                run.idempotency_key,
            )  # fmt: skip
            if row is not None:
                return _read(row), True
            row = await conn.fetchrow(
                f"SELECT {_COLUMNS} FROM execution_runs WHERE user_id = $1 AND idempotency_key = $2",
                run.user_id,
                run.idempotency_key,
            )
            return _read(row), False

    @staticmethod
    async def _ensure_owned(conn: Any, user_id: str, table: str, row_id: UUID | None, what: str) -> None:
        if row_id is None:
            return
        if not await conn.fetchval(
            f"SELECT EXISTS (SELECT 1 FROM {table} WHERE user_id = $1 AND id = $2)", user_id, row_id
        ):
            raise NotFoundError(f"no {what} {row_id} for user {user_id}", details={f"{what}_id": str(row_id)})

    async def finish(self, run_id: UUID, finish: ExecutionFinish) -> ExecutionRead:
        row = await self._pool.fetchrow(
            _FINISH, finish.user_id, run_id, finish.status, finish.finished_at, finish.actual_minutes,
            finish.outcome, finish.notes,
        )  # fmt: skip
        if row is not None:
            return _read(row)
        current = await self.get(finish.user_id, run_id)
        if current.status == "running":  # only a finish before the start leaves a running run unmatched
            message = f"is before the run's started_at ({current.started_at.isoformat()})"
            raise ValidationFailedError(
                f"invalid request: body.finished_at: {message}",
                details=[{"field": "body.finished_at", "message": message, "type": "before_start"}],
            )
        raise ConflictError(
            f"execution {run_id} is already {current.status}; only a running execution can be finished",
            details={"status": current.status},
            code="already_finished",
        )

    async def get(self, user_id: str, run_id: UUID) -> ExecutionRead:
        row = await self._pool.fetchrow(
            f"SELECT {_COLUMNS} FROM execution_runs WHERE user_id = $1 AND id = $2", user_id, run_id
        )
        if row is None:
            raise NotFoundError(f"no execution {run_id} for user {user_id}", details={"execution_id": str(run_id)})
        return _read(row)

    async def list_runs(
        self,
        user_id: str,
        *,
        task_id: UUID | None,
        plan_id: UUID | None,
        since: datetime | None,
        until: datetime | None,
        limit: int,
        cursor: str | None = None,
    ) -> tuple[list[ExecutionRead], str | None]:
        """A page, newest first, and the cursor of the next one (None: this is the last)."""
        conditions: list[str] = ["user_id = $1"]
        args: list[object] = [user_id]
        for condition, value in (
            ("task_id = ${}", task_id),
            ("plan_id = ${}", plan_id),
            ("started_at >= ${}", since),
            ("started_at < ${}", until),
        ):
            if value is not None:
                args.append(value)
                conditions.append(condition.format(len(args)))
        if cursor is not None:
            args.extend(decode_cursor(cursor))
            conditions.append(f"(started_at, id) < (${len(args) - 1}, ${len(args)})")
        args.append(limit + 1)  # one more than asked tells whether another page follows
        rows = await self._pool.fetch(
            f"SELECT {_COLUMNS} FROM execution_runs WHERE {' AND '.join(conditions)}"
            f" ORDER BY started_at DESC, id DESC LIMIT ${len(args)}",
            *args,
        )
        runs = [_read(row) for row in rows[:limit]]
        return runs, encode_cursor(runs[-1]) if len(rows) > limit else None

    async def history(self, user_id: str, limit: int = 200) -> list[FinishedRun]:
        rows = await self._pool.fetch(_HISTORY, user_id, limit)
        return [
            FinishedRun(
                title=row["title"],
                tags=list(row["tags"]),
                estimated_minutes=row["estimated_minutes"],
                actual_minutes=row["actual_minutes"],
            )
            for row in rows
        ]
