"""All SQL on plans: insert with tasks (idempotent by key), read with tasks, status moves, replans, and the
bookkeeping of the two hand-overs that must survive the other side being down (scheduling, plan event).

Each hand-over is leased (`handover_claimed_until`, `event_claimed_until`), so with any number of replicas
one worker does it at a time: the request that starts it holds it from the same statement, and a sweep
takes only what nobody holds (one UPDATE over SKIP LOCKED rows). A lease ends when the hand-over went
through or failed; a worker that died leaves it to expire. Leases never move `updated_at` (migration 012).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from uuid import UUID

import asyncpg

from planner_engine.adapters.tasks import Conn, plan_tasks, write_plan_tasks
from planner_engine.domain.acceptance import EVENT_LEASE_SECONDS, HANDOVER_LEASE_SECONDS
from planner_engine.domain.drafts import PlanDraft
from planner_engine.domain.models import NewPlan
from pma_core.contracts.library import SopRef
from pma_core.contracts.plans import PlanRead, Recalled, ScheduleOutcome, Scheduling, TemplateRef, Usage
from pma_core.contracts.scheduling import ScheduleResult
from pma_core.contracts.tasks import TaskRead
from pma_core.errors import NotFoundError

_SELECT = """
    SELECT p.*, s.name AS sop_name, s.version AS sop_version, s.title AS sop_title,
           t.name AS template_name, t.version AS template_version
    FROM plans p
    LEFT JOIN sops s ON s.user_id = p.user_id AND s.id = p.sop_id
    LEFT JOIN prompt_templates t ON t.id = p.prompt_template_id"""
_INSERT = """
    INSERT INTO plans (user_id, intent, sop, context, constraints, due_at, planner, model, prompt_template_id,
                       usage, idempotency_key, sop_id, trace_id, recalled, warnings, estimate_notes,
                       event_claimed_until)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16,
            now() + make_interval(secs => $17))
    ON CONFLICT (user_id, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
    RETURNING id"""
# A sweep's batch: the rows nobody holds, locked (SKIP LOCKED: another replica's sweep takes the others) and
# leased in one statement. {pending} names the hand-over outstanding, {lease} its lease column.
_CLAIM = """
    UPDATE plans SET {lease} = now() + make_interval(secs => $2)
    WHERE id IN (SELECT id FROM plans WHERE {pending} AND ({lease} IS NULL OR {lease} < now())
                 ORDER BY {order} LIMIT $1 FOR UPDATE SKIP LOCKED)
    RETURNING user_id, id"""
_CLAIM_SCHEDULING = _CLAIM.format(
    lease="handover_claimed_until", pending="scheduling_state = 'pending' AND status = 'accepted'", order="updated_at"
)
_CLAIM_EVENTS = _CLAIM.format(lease="event_claimed_until", pending="event_recorded_at IS NULL", order="created_at")


# A task the run could not place goes back to todo; one it placed is scheduled (unless work started on it).
_RECORD_TASK_SCHEDULE = """
    UPDATE tasks SET schedule_outcome = $4,
        status = CASE WHEN $5 = 'unscheduled' AND status = 'scheduled' THEN 'todo'
                      WHEN $5 <> 'unscheduled' AND status = 'todo' THEN 'scheduled'
                      ELSE status END
    WHERE user_id = $1 AND plan_id = $2 AND id = $3"""


def _plan_read(row: asyncpg.Record, tasks: list[TaskRead]) -> PlanRead:
    based_on = (
        SopRef(id=row["sop_id"], name=row["sop_name"], version=row["sop_version"], title=row["sop_title"])
        if row["sop_id"] is not None
        else None
    )
    template = (
        TemplateRef(name=row["template_name"], version=row["template_version"])
        if row["template_name"] is not None
        else None
    )
    return PlanRead(
        id=row["id"], user_id=row["user_id"], intent=row["intent"], status=row["status"], revision=row["revision"],
        sop=row["sop"], based_on=based_on, tasks=tasks, context=row["context"].get("text", ""),
        constraints=row["constraints"], due_at=row["due_at"], planner=row["planner"],
        planned_offline=row["planner"] == "offline", model=row["model"], prompt_template=template,
        usage=Usage.model_validate(row["usage"] or {}), trace_id=row["trace_id"],
        recalled=[Recalled.model_validate(item) for item in row["recalled"]], warnings=list(row["warnings"]),
        estimate_notes=list(row["estimate_notes"]),
        scheduling=Scheduling(
            state=row["scheduling_state"], run_id=row["scheduler_run_id"], attempts=row["scheduling_attempts"],
            last_error=row["scheduling_error"], requested_at=row["scheduling_requested_at"],
            outcome=ScheduleOutcome.model_validate(row["schedule_result"]) if row["schedule_result"] else None,
        ),
        created_at=row["created_at"], updated_at=row["updated_at"],
    )  # fmt: skip


class PlanRepository:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def by_idempotency_key(self, user_id: str, key: str) -> PlanRead | None:
        plan_id = await self._pool.fetchval(
            "SELECT id FROM plans WHERE user_id = $1 AND idempotency_key = $2", user_id, key
        )
        return await self.get(user_id, plan_id) if plan_id is not None else None

    async def insert(self, plan: NewPlan, draft: PlanDraft) -> tuple[PlanRead, bool]:
        """(plan, created): a concurrent call with the same idempotency key gets the first plan, created=False."""
        async with self._pool.acquire() as conn, conn.transaction():
            plan_id = await conn.fetchval(
                _INSERT, plan.user_id, plan.intent, draft.sop.model_dump(mode="json"), {"text": plan.context},
                plan.constraints, plan.due_at, plan.planner, plan.model, plan.template_id,
                plan.usage.model_dump(mode="json"), plan.idempotency_key, plan.sop_id, plan.trace_id,
                [item.model_dump(mode="json") for item in plan.recalled], list(plan.warnings),
                list(plan.estimate_notes), EVENT_LEASE_SECONDS,  # the creator records the event: it holds it
            )  # fmt: skip
            if plan_id is None:
                existing = await conn.fetchval(
                    "SELECT id FROM plans WHERE user_id = $1 AND idempotency_key = $2",
                    plan.user_id,
                    plan.idempotency_key,
                )
                return await self._read(conn, plan.user_id, existing), False
            await write_plan_tasks(conn, user_id=plan.user_id, plan_id=plan_id, tasks=draft.tasks)
            return await self._read(conn, plan.user_id, plan_id), True

    async def get(self, user_id: str, plan_id: UUID) -> PlanRead:
        async with self._pool.acquire() as conn:
            return await self._read(conn, user_id, plan_id)

    async def list_plans(
        self,
        user_id: str,
        *,
        status: str | None,
        limit: int,
        created_after: datetime | None = None,
        created_before: datetime | None = None,
    ) -> list[PlanRead]:
        """Newest first; `created_after` / `created_before` bound a window [after, before)."""
        conditions: list[str] = ["p.user_id = $1"]
        args: list[object] = [user_id]
        for condition, value in (
            ("p.status = ${}", status), ("p.created_at >= ${}", created_after), ("p.created_at < ${}", created_before)
        ):  # fmt: skip
            if value is not None:
                args.append(value)
                conditions.append(condition.format(len(args)))
        args.append(limit)
        async with self._pool.acquire() as conn:
            rows = await conn.fetch(
                f"{_SELECT} WHERE {' AND '.join(conditions)} ORDER BY p.created_at DESC LIMIT ${len(args)}", *args
            )
            tasks = await plan_tasks(conn, user_id, [row["id"] for row in rows])
            return [_plan_read(row, tasks[row["id"]]) for row in rows]

    async def _read(self, conn: Conn, user_id: str, plan_id: UUID) -> PlanRead:
        row = await conn.fetchrow(f"{_SELECT} WHERE p.user_id = $1 AND p.id = $2", user_id, plan_id)
        if row is None:
            raise NotFoundError(f"no plan {plan_id} for user {user_id}", details={"plan_id": str(plan_id)})
        tasks = await plan_tasks(conn, user_id, [plan_id])
        return _plan_read(row, tasks[plan_id])

    async def _lock_status(self, conn: Conn, user_id: str, plan_id: UUID) -> str:
        status: str | None = await conn.fetchval(
            "SELECT status FROM plans WHERE user_id = $1 AND id = $2 FOR UPDATE", user_id, plan_id
        )
        if status is None:
            raise NotFoundError(f"no plan {plan_id} for user {user_id}", details={"plan_id": str(plan_id)})
        return status

    async def move(
        self,
        user_id: str,
        plan_id: UUID,
        *,
        check: Callable[[str], None],
        status: str,
        scheduling_state: str | None = None,
    ) -> PlanRead:
        """Set the status (and optionally the scheduling state) after `check(current status)` passed, under a
        row lock, so two concurrent moves cannot both pass the check. A move to scheduling `pending` is
        the caller handing the plan over next: it holds the hand-over, so no sweep does it meanwhile."""
        async with self._pool.acquire() as conn, conn.transaction():
            check(await self._lock_status(conn, user_id, plan_id))
            await conn.execute(
                """UPDATE plans SET status = $3, scheduling_state = COALESCE($4, scheduling_state),
                       handover_claimed_until = CASE WHEN $4 = 'pending' THEN now() + make_interval(secs => $5)
                                                     ELSE handover_claimed_until END
                   WHERE user_id = $1 AND id = $2""",
                user_id, plan_id, status, scheduling_state, HANDOVER_LEASE_SECONDS,
            )  # fmt: skip
            if status in ("done", "cancelled"):
                await conn.execute(
                    "UPDATE tasks SET status = $3"
                    " WHERE user_id = $1 AND plan_id = $2 AND status NOT IN ('done', 'cancelled')",
                    user_id, plan_id, "cancelled" if status == "cancelled" else "done",
                )  # fmt: skip
            return await self._read(conn, user_id, plan_id)

    async def replace_draft(
        self, user_id: str, plan_id: UUID, *, check: Callable[[str], None], draft: PlanDraft, extra: NewPlan
    ) -> PlanRead:
        """A replan: the new SOP and tasks (ids kept by key), revision + 1, usage and warnings of this call."""
        async with self._pool.acquire() as conn, conn.transaction():
            check(await self._lock_status(conn, user_id, plan_id))
            await conn.execute(
                """UPDATE plans SET sop = $3, revision = revision + 1, planner = $4, model = $5,
                       prompt_template_id = $6, usage = $7, trace_id = $8, warnings = $9, estimate_notes = $10
                   WHERE user_id = $1 AND id = $2""",
                user_id, plan_id, draft.sop.model_dump(mode="json"), extra.planner, extra.model, extra.template_id,
                extra.usage.model_dump(mode="json"), extra.trace_id, list(extra.warnings), list(extra.estimate_notes),
            )  # fmt: skip
            await write_plan_tasks(conn, user_id=user_id, plan_id=plan_id, tasks=draft.tasks)
            return await self._read(conn, user_id, plan_id)

    async def set_sop(self, user_id: str, plan_id: UUID, sop_id: UUID) -> None:
        await self._pool.execute(
            "UPDATE plans SET sop_id = $3 WHERE user_id = $1 AND id = $2", user_id, plan_id, sop_id
        )

    async def scheduling_requested(self, user_id: str, plan_id: UUID, run_id: UUID) -> PlanRead:
        """The scheduler took the plan: scheduled, with its run id (an accepted plan only; a moved one stays)."""
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute(
                """UPDATE plans SET scheduling_state = 'requested', scheduler_run_id = $3, scheduling_error = NULL,
                       scheduling_attempts = scheduling_attempts + 1, scheduling_requested_at = now(),
                       handover_claimed_until = NULL,
                       status = CASE WHEN status = 'accepted' THEN 'scheduled' ELSE status END
                   WHERE user_id = $1 AND id = $2""",
                user_id, plan_id, run_id,
            )  # fmt: skip
            await conn.execute(
                "UPDATE tasks SET status = 'scheduled' WHERE user_id = $1 AND plan_id = $2 AND status = 'todo'",
                user_id,
                plan_id,
            )
            return await self._read(conn, user_id, plan_id)

    async def record_schedule(self, plan_id: UUID, result: ScheduleResult, outcome: ScheduleOutcome) -> PlanRead:
        """Each task's blocks and risk, and the plan's outcome, from a finished run, in one transaction; a
        report of a run that finished before the one recorded changes nothing (reports may arrive late)."""
        async with self._pool.acquire() as conn, conn.transaction():
            newer = await conn.fetchval(
                """UPDATE plans SET schedule_result = $3,
                       status = CASE WHEN status = 'accepted' THEN 'scheduled' ELSE status END
                   WHERE user_id = $1 AND id = $2
                     AND (schedule_result IS NULL OR (schedule_result->>'finished_at')::timestamptz <= $4)
                   RETURNING true""",
                result.user_id, plan_id, outcome.model_dump(mode="json"), result.finished_at,
            )  # fmt: skip
            if newer:
                for task in result.tasks:
                    await conn.execute(_RECORD_TASK_SCHEDULE, result.user_id, plan_id, task.task_id,
                                       task.model_dump(mode="json", exclude={"task_id"}), task.status)  # fmt: skip
            return await self._read(conn, result.user_id, plan_id)

    async def scheduling_failed(self, user_id: str, plan_id: UUID, error: str) -> PlanRead:
        async with self._pool.acquire() as conn:
            await conn.execute(
                """UPDATE plans SET scheduling_state = 'pending', scheduling_error = $3,
                       scheduling_attempts = scheduling_attempts + 1, handover_claimed_until = NULL
                   WHERE user_id = $1 AND id = $2""",
                user_id, plan_id, error[:1000],
            )  # fmt: skip
            return await self._read(conn, user_id, plan_id)

    async def hold_hand_over(self, user_id: str, plan_id: UUID) -> None:
        """An explicit POST .../schedule hands the plan over now, whoever held it: sweeps leave it alone."""
        await self._pool.execute(
            "UPDATE plans SET handover_claimed_until = now() + make_interval(secs => $3)"
            " WHERE user_id = $1 AND id = $2",
            user_id, plan_id, HANDOVER_LEASE_SECONDS,
        )  # fmt: skip

    async def claim_pending_scheduling(self, limit: int, *, lease_seconds: float) -> list[tuple[str, UUID]]:
        """Plans accepted for scheduling whose hand-over has not gone through yet and nobody holds, oldest
        first, now held by the caller (`scheduling_requested` or `scheduling_failed` ends the lease)."""
        rows = await self._pool.fetch(_CLAIM_SCHEDULING, limit, lease_seconds)
        return [(row["user_id"], row["id"]) for row in rows]

    async def event_recorded(self, user_id: str, plan_id: UUID) -> None:
        await self._pool.execute(
            "UPDATE plans SET event_recorded_at = now(), event_claimed_until = NULL WHERE user_id = $1 AND id = $2",
            user_id,
            plan_id,
        )

    async def release_event(self, user_id: str, plan_id: UUID) -> None:
        """The event did not go through: the next sweep (of any replica) may take it."""
        await self._pool.execute(
            "UPDATE plans SET event_claimed_until = NULL WHERE user_id = $1 AND id = $2 AND event_recorded_at IS NULL",
            user_id,
            plan_id,
        )

    async def claim_pending_events(self, limit: int, *, lease_seconds: float) -> list[tuple[str, UUID]]:
        """Plans whose `plan.created` event is not recorded yet and nobody holds, now held by the caller."""
        rows = await self._pool.fetch(_CLAIM_EVENTS, limit, lease_seconds)
        return [(row["user_id"], row["id"]) for row in rows]
