"""Conversions between a stored plan and drafts: the plan's current draft (for replanning) and the SOP
pattern saved to the library when a plan is accepted."""

from __future__ import annotations

from planner_engine.domain.drafts import PlanDraft
from pma_core.contracts.library import Sop
from pma_core.contracts.plans import PlanRead
from pma_core.contracts.tasks import TaskSpec


def planned_tasks(plan: PlanRead, *, with_window: bool) -> list[TaskSpec]:
    """The plan's own tasks (imported ones attached to it have no key and are left out) as specs by key."""
    keys = {task.id: task.key for task in plan.tasks if task.key is not None}
    specs = []
    for task in plan.tasks:
        if task.key is None:
            continue
        specs.append(
            TaskSpec(
                key=task.key,
                title=task.title,
                description=task.description,
                estimate_minutes=task.estimate_minutes,
                # Urgency belongs to a plan's dates, not to the procedure: the library keeps "normal".
                priority=task.priority if with_window else "normal",
                earliest_start=task.earliest_start if with_window else None,
                deadline=task.deadline if with_window else None,
                depends_on=[keys[dep] for dep in task.depends_on if dep in keys],
                splittable=task.splittable,
                min_chunk_minutes=task.min_chunk_minutes,
                tags=task.tags,
                step=task.step,
            )
        )
    return specs


def draft_of_plan(plan: PlanRead) -> PlanDraft:
    return PlanDraft(sop=plan.sop, tasks=planned_tasks(plan, with_window=True))


def sop_pattern(plan: PlanRead) -> tuple[Sop, list[TaskSpec]]:
    """What the library keeps of an accepted plan: its SOP and its tasks without dates (they are per plan)."""
    return plan.sop, planned_tasks(plan, with_window=False)
