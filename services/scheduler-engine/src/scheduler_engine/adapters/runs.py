"""All SQL of scheduler_runs: create (idempotent by key), the run's lifecycle under its lease, and the sweeps'
look-ups. Leases (an execution's, a report's) make any number of replicas safe: each step is one UPDATE
that one worker wins.

Every read a user can ask for is scoped by user_id; the service's own sweeps read across users.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID, uuid5

import asyncpg

from pma_core.contracts.scheduling import BlockRead, RunRead, TaskScheduleRead
from scheduler_engine.domain.intake import RunSpec
from scheduler_engine.domain.models import StoredBlock
from scheduler_engine.domain.outcomes import TaskReport
from scheduler_engine.domain.ports import RunRecord, RunResult

_COLUMNS = "id, user_id, status, request, result, input_hash, created_at, finished_at"
_INSERT = f"""
    INSERT INTO scheduler_runs (user_id, plan_id, plan_revision, dry_run, idempotency_key, request, input_hash)
    VALUES ($1, $2, $3, $4, $5, $6, $7)
    ON CONFLICT (user_id, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
    RETURNING {_COLUMNS}"""
_FINISH = """
    UPDATE scheduler_runs SET status = $2, finished_at = now(), window_start = $3, window_end = $4,
        solver_status = $5, objective = $6, bound = $7, solve_ms = $8, moved = $9, result = $10, error = NULL,
        run_claimed_until = NULL
    WHERE id = $1"""
# A run is executed under a lease (run_claimed_until): one UPDATE takes it, so of two workers (the run's own
# task, a sweep, of any replica) one gets it; a worker that died leaves it to expire, then a sweep takes over.
# The claimant ($3) names the worker: one that takes its own claim again (its first answer was lost in an
# outage) is no new attempt.
_TAKE = """
    UPDATE scheduler_runs SET status = 'running', started_at = now(),
        run_attempts = run_attempts + CASE WHEN run_claimed_by IS NOT DISTINCT FROM $3 THEN 0 ELSE 1 END,
        run_claimed_until = now() + make_interval(secs => $2), run_claimed_by = $3"""
_UNHELD = "status IN ('pending', 'running') AND (run_claimed_until IS NULL OR run_claimed_until < now())"
_FREE = f"({_UNHELD} OR (status IN ('pending', 'running') AND run_claimed_by = $3))"
_CLAIM = f"{_TAKE} WHERE id = $1 AND {_FREE} RETURNING {_COLUMNS}"
# The head of the user's queue is their oldest unfinished run that places blocks; while a worker holds it,
# nobody else takes it (or anything behind it), and the holder takes the next one when it is done.
_CLAIM_NEXT = f"""{_TAKE}
    WHERE id = (SELECT id FROM scheduler_runs WHERE user_id = $1 AND NOT dry_run AND status IN ('pending', 'running')
                ORDER BY created_at, id LIMIT 1)
      AND {_FREE}
    RETURNING {_COLUMNS}"""


def _record(row: asyncpg.Record) -> RunRecord:
    result: dict[str, Any] = row["result"] or {}
    return RunRecord(
        id=row["id"],
        spec=RunSpec.model_validate(row["request"]),
        input_hash=row["input_hash"],
        status=row["status"],
        created_at=row["created_at"],
        finished_at=row["finished_at"],
        tasks=tuple(_report(item) for item in result.get("tasks", [])),
    )


def _report(item: dict[str, Any]) -> TaskReport:
    return TaskReport(
        task_id=UUID(item["task_id"]), title=item["title"], status=item["status"],
        expected_finish=_moment(item["expected_finish"]), deadline=_moment(item["deadline"]),
        scheduled_minutes=item["scheduled_minutes"], reason=item["reason"],
    )  # fmt: skip


def _moment(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _report_json(report: TaskReport) -> dict[str, Any]:
    return {
        "task_id": str(report.task_id), "title": report.title, "status": report.status,
        "expected_finish": report.expected_finish.isoformat() if report.expected_finish else None,
        "deadline": report.deadline.isoformat() if report.deadline else None,
        "scheduled_minutes": report.scheduled_minutes, "reason": report.reason,
    }  # fmt: skip


class RunRepository:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def create(self, spec: RunSpec, *, key: str | None, input_hash: str) -> tuple[RunRecord, bool]:
        request = spec.model_dump(mode="json")
        args = (spec.user_id, spec.plan_id, spec.plan_revision, spec.dry_run, key, request, input_hash)
        row = await self._pool.fetchrow(_INSERT, *args)
        if row is not None:
            return _record(row), True
        first = await self._pool.fetchrow(
            f"SELECT {_COLUMNS} FROM scheduler_runs WHERE user_id = $1 AND idempotency_key = $2", spec.user_id, key
        )
        assert first is not None, "a conflicting key names a row"
        return _record(first), False

    async def get(self, user_id: str | None, run_id: UUID) -> RunRecord | None:
        row = await self._pool.fetchrow(
            f"SELECT {_COLUMNS} FROM scheduler_runs WHERE id = $1 AND ($2::text IS NULL OR user_id = $2)",
            run_id,
            user_id,
        )
        return _record(row) if row else None

    async def row(self, user_id: str, run_id: UUID) -> asyncpg.Record | None:
        """The whole row, for the API's view of a run."""
        return await self._pool.fetchrow("SELECT * FROM scheduler_runs WHERE id = $1 AND user_id = $2", run_id, user_id)

    async def claim(self, run_id: UUID, *, lease_seconds: float, claimant: UUID) -> RunRecord | None:
        """Take this run (a dry run: it places nothing, so it queues behind no other) and mark it running."""
        row = await self._pool.fetchrow(_CLAIM, run_id, lease_seconds, claimant)
        return _record(row) if row else None

    async def claim_next(self, user_id: str, *, lease_seconds: float, claimant: UUID) -> RunRecord | None:
        """Take the user's oldest unfinished run that places blocks, unless another worker holds it: holding
        the head of a user's runs is holding the user's calendar, so their runs go one at a time."""
        row = await self._pool.fetchrow(_CLAIM_NEXT, user_id, lease_seconds, claimant)
        return _record(row) if row else None

    async def renew(self, run_id: UUID, *, lease_seconds: float) -> None:
        await self._pool.execute(
            "UPDATE scheduler_runs SET run_claimed_until = now() + make_interval(secs => $2)"
            " WHERE id = $1 AND status = 'running'",
            run_id,
            lease_seconds,
        )

    async def finish(self, run_id: UUID, result: RunResult) -> None:
        solution = result.solution
        document = {"tasks": [_report_json(report) for report in result.tasks]}
        if solution.blocks:  # what the run proposed (a dry run keeps no blocks)
            titles = {report.task_id: report.title for report in result.tasks}
            document["proposal"] = [
                {"task_id": str(b.task_id), "title": titles.get(b.task_id, ""), "start": b.start.isoformat(),
                 "end": b.end.isoformat()}
                for b in solution.blocks
            ]  # fmt: skip
        await self._pool.execute(
            _FINISH, run_id, result.status, result.window.start, result.window.end, solution.status,
            solution.objective, solution.bound, round(solution.solve_seconds * 1000, 3), solution.moved, document,
        )  # fmt: skip

    async def fail(self, run_id: UUID, error: str) -> None:
        await self._pool.execute(
            "UPDATE scheduler_runs SET status = 'failed', finished_at = now(), error = $2, run_claimed_until = NULL"
            " WHERE id = $1",
            run_id,
            error[:2000],
        )

    async def calendar_synced(self, run_id: UUID, *, error: str | None) -> None:
        await self._pool.execute(
            "UPDATE scheduler_runs SET calendar_synced_at = CASE WHEN $2::text IS NULL THEN now() END,"
            " calendar_error = $2 WHERE id = $1",
            run_id,
            error[:2000] if error else None,
        )

    async def claim_report(self, run_id: UUID, *, lease_seconds: float) -> bool:
        # One UPDATE: of two senders (the run's task, a sweep of any replica), one gets the row.
        claimed = await self._pool.fetchval(
            """UPDATE scheduler_runs SET report_claimed_until = now() + make_interval(secs => $2)
               WHERE id = $1 AND planner_notified_at IS NULL
                 AND (report_claimed_until IS NULL OR report_claimed_until < now())
               RETURNING id""",
            run_id,
            lease_seconds,
        )
        return claimed is not None

    async def release_report(self, run_id: UUID) -> None:
        await self._pool.execute("UPDATE scheduler_runs SET report_claimed_until = NULL WHERE id = $1", run_id)

    async def reported(self, run_id: UUID) -> None:
        await self._pool.execute(
            "UPDATE scheduler_runs SET planner_notified_at = now(), report_claimed_until = NULL WHERE id = $1",
            run_id,
        )

    async def unfinished(self, *, older_than: datetime, limit: int) -> list[UUID]:
        rows = await self._pool.fetch(
            f"SELECT id FROM scheduler_runs WHERE {_UNHELD} AND created_at < $1 ORDER BY created_at LIMIT $2",
            older_than,
            limit,
        )
        return [row["id"] for row in rows]

    async def unreported(self, *, limit: int) -> list[UUID]:
        rows = await self._pool.fetch(
            """SELECT id FROM scheduler_runs
               WHERE planner_notified_at IS NULL AND plan_id IS NOT NULL AND dry_run = false
                 AND status IN ('succeeded', 'partial', 'failed')
                 AND (report_claimed_until IS NULL OR report_claimed_until < now())
               ORDER BY finished_at LIMIT $1""",
            limit,
        )
        return [row["id"] for row in rows]


def run_read(row: asyncpg.Record, blocks: list[StoredBlock]) -> RunRead:
    """The API's view of a run: its blocks (a dry run's proposal), each task's outcome, the solver's figures."""
    result: dict[str, Any] = row["result"] or {}
    tasks = [TaskScheduleRead.model_validate(item) for item in result.get("tasks", [])]
    if row["dry_run"]:
        shown = [_proposed(item, row["id"], index) for index, item in enumerate(result.get("proposal", []))]
    else:
        shown = [_block_read(block) for block in blocks]
    return RunRead(
        id=row["id"], user_id=row["user_id"], plan_id=row["plan_id"], plan_revision=row["plan_revision"],
        status=row["status"], dry_run=row["dry_run"], window_start=row["window_start"], window_end=row["window_end"],
        solver_status=row["solver_status"], objective=row["objective"], bound=row["bound"], solve_ms=row["solve_ms"],
        moved=row["moved"], blocks=shown, tasks=tasks, unscheduled=[t for t in tasks if t.status == "unscheduled"],
        calendar_error=row["calendar_error"], error=row["error"], created_at=row["created_at"],
        finished_at=row["finished_at"],
    )  # fmt: skip


def _block_read(block: StoredBlock) -> BlockRead:
    return BlockRead(
        id=block.block_id, task_id=block.task_id, title=block.title, start=block.start, end=block.end,
        status=block.status, pinned=block.pinned, sequence=block.sequence,
    )  # fmt: skip


def _proposed(item: dict[str, Any], run_id: UUID, index: int) -> BlockRead:
    # A proposal keeps no blocks: its ids are derived from the run, so the answer is stable.
    return BlockRead(
        id=uuid5(run_id, str(index)), task_id=UUID(item["task_id"]), title=item.get("title", ""),
        start=datetime.fromisoformat(item["start"]),
        end=datetime.fromisoformat(item["end"]), status="planned", pinned=False, sequence=0,
    )  # fmt: skip
