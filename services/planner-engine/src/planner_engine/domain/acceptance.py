"""After planning: acceptance (which saves the SOP to the library), status moves, and the hand-over to the
scheduler, which must survive the scheduler being down: the plan is accepted and marked pending, and a
later call (or the sweep) completes it. Nothing is lost and, with the hand-over's idempotency key,
nothing is placed twice.

With several replicas, each hand-over is done by one worker at a time: the request that starts one holds
its lease, and a sweep takes only the hand-overs nobody holds (see adapters/plans.py).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from uuid import UUID

from planner_engine.domain.lifecycle import ensure_transition
from planner_engine.domain.matching import embedding_text
from planner_engine.domain.models import SopContent
from planner_engine.domain.ports import Memory, PendingHandOvers, PlanStore, Scheduler, SopStore, Vectoriser
from planner_engine.domain.sop_drafts import sop_pattern
from pma_core.clock import Clock, utc_now
from pma_core.contracts.library import SopRead
from pma_core.contracts.plans import PlanRead, ScheduleOutcome
from pma_core.contracts.scheduling import ScheduleResult
from pma_core.errors import ConflictError, ValidationFailedError

_log = logging.getLogger(__name__)
SCHEDULABLE = frozenset({"accepted", "scheduled"})
# How long a hand-over stays its worker's: longer than one takes (the scheduler client's timeout and retries,
# the memory timeout), short enough that one a dead replica held is retried soon after.
HANDOVER_LEASE_SECONDS = 60.0
EVENT_LEASE_SECONDS = 60.0


def slug(title: str) -> str:
    words = re.findall(r"[a-z0-9]+", title.lower())
    return "-".join(words)[:60].strip("-") or "sop"


@dataclass
class Acceptance:
    plans: PlanStore
    sops: SopStore
    scheduler: Scheduler
    memory: Memory
    pending: PendingHandOvers
    vectors: Vectoriser
    clock: Clock = utc_now

    async def accept(self, user_id: str, plan_id: UUID, *, schedule: bool) -> PlanRead:
        """Accept a draft: its SOP joins the library; with `schedule`, its tasks go to the scheduler."""
        plan = await self.plans.move(
            user_id, plan_id, check=partial(ensure_transition, wanted="accepted"), status="accepted",
            scheduling_state="pending" if schedule else None,
        )  # fmt: skip
        plan = await self._save_sop(plan)
        return await self._hand_over(plan) if schedule else plan

    async def set_status(self, user_id: str, plan_id: UUID, status: str) -> PlanRead:
        if status == "accepted":
            return await self.accept(user_id, plan_id, schedule=False)
        return await self.plans.move(
            user_id, plan_id, check=partial(ensure_transition, wanted=status), status=status, scheduling_state=None
        )

    async def schedule(self, user_id: str, plan_id: UUID) -> PlanRead:
        """Hand an accepted (or re-hand a replanned scheduled) plan to the scheduler; safe to repeat."""
        plan = await self.plans.get(user_id, plan_id)
        if plan.status not in SCHEDULABLE:
            hint = "accept it first" if plan.status == "draft" else "only accepted or scheduled plans are"
            raise ConflictError(
                f"a plan in status {plan.status} cannot be scheduled: {hint}",
                details={"status": plan.status},
                code="illegal_transition",
            )
        await self.plans.hold_hand_over(plan.user_id, plan.id)
        return await self._hand_over(plan)

    async def record_schedule(self, plan_id: UUID, result: ScheduleResult) -> PlanRead:
        """The scheduler's report of a finished run: the tasks show their blocks and risk; idempotent (the
        same report again changes nothing, an older run's report is ignored). A run of another revision is
        a 409: its tasks are not the plan's tasks any more."""
        plan = await self.plans.get(result.user_id, plan_id)
        if result.plan_revision is not None and result.plan_revision != plan.revision:
            raise ConflictError(
                f"the run placed revision {result.plan_revision}; the plan is at revision {plan.revision}",
                details={"plan_revision": plan.revision, "run_revision": result.plan_revision},
                code="stale_revision",
            )
        known = {task.id for task in plan.tasks}
        if unknown := sorted(str(t.task_id) for t in result.tasks if t.task_id not in known):
            raise ValidationFailedError(
                "invalid request: body.tasks: not tasks of this plan", details={"task_ids": unknown}
            )
        return await self.plans.record_schedule(plan_id, result, outcome_of(result, self.clock()))

    async def sweep(self, limit: int = 50) -> tuple[int, int]:
        """Retry the hand-overs still outstanding: (plans scheduled, events recorded) this round."""
        scheduled = recorded = 0
        for user_id, plan_id in await self.pending.claim_pending_scheduling(
            limit, lease_seconds=HANDOVER_LEASE_SECONDS
        ):
            plan = await self._hand_over(await self.plans.get(user_id, plan_id))  # either outcome ends the lease
            scheduled += plan.scheduling.state == "requested"
        for user_id, plan_id in await self.pending.claim_pending_events(limit, lease_seconds=EVENT_LEASE_SECONDS):
            if await self.memory.record_plan_created(await self.plans.get(user_id, plan_id)):
                await self.plans.event_recorded(user_id, plan_id)
                recorded += 1
            else:
                await self.plans.release_event(user_id, plan_id)
        return scheduled, recorded

    async def _hand_over(self, plan: PlanRead) -> PlanRead:
        result = await self.scheduler.hand_over(plan)
        if result.run_id is not None:
            return await self.plans.scheduling_requested(plan.user_id, plan.id, result.run_id)
        _log.warning("scheduling of plan %s pending: %s", plan.id, result.error)
        return await self.plans.scheduling_failed(plan.user_id, plan.id, result.error or "unknown error")

    async def _save_sop(self, plan: PlanRead) -> PlanRead:
        """Save the plan's SOP for reuse: a new version of the SOP it adapted when it changed, else a new SOP."""
        sop, tasks = sop_pattern(plan)
        if plan.based_on is not None:
            base = await self.sops.get(plan.user_id, plan.based_on.id)
            if _same_pattern(base, sop.steps, tasks):
                return plan
            name = base.name
        else:
            name = await self._free_name(plan.user_id, slug(sop.title))
        text = embedding_text(title=sop.title, intent=plan.intent, summary=sop.summary, steps=sop.steps)
        (vector,) = await self.vectors.embed([text])
        content = SopContent(
            title=sop.title, summary=sop.summary, intent=plan.intent, steps=sop.steps, tasks=tasks,
            tags=sorted({tag for task in tasks for tag in task.tags}), embedding=vector, embedder=self.vectors.name,
            source_plan_id=plan.id,
        )  # fmt: skip
        saved = await self.sops.add_version(plan.user_id, name, content)
        await self.plans.set_sop(plan.user_id, plan.id, saved.id)
        return await self.plans.get(plan.user_id, plan.id)

    async def _free_name(self, user_id: str, base: str) -> str:
        name, suffix = base, 2
        while await self.sops.name_taken(user_id, name):
            name, suffix = f"{base}-{suffix}", suffix + 1
        return name


def _same_pattern(base: SopRead, steps: object, tasks: object) -> bool:
    return base.steps == steps and base.tasks == tasks


def outcome_of(result: ScheduleResult, now: datetime) -> ScheduleOutcome:
    statuses = [task.status for task in result.tasks]
    return ScheduleOutcome(
        run_id=result.run_id,
        status=result.status,
        scheduled_tasks=sum(status != "unscheduled" for status in statuses),
        unscheduled_tasks=statuses.count("unscheduled"),
        late_tasks=statuses.count("late"),
        at_risk_tasks=statuses.count("at_risk"),
        finished_at=result.finished_at,
        reported_at=now,
    )
