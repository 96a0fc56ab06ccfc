"""How each task fares in a run, in the words the API and the planner show."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Literal
from uuid import UUID

from scheduler_engine.domain.intake import RunSpec
from scheduler_engine.domain.models import ExistingBlock, Solution

ReportStatus = Literal["on_track", "at_risk", "late", "unscheduled"]
REASONS = {
    "no_capacity_before_deadline": "not enough free time before its deadline",
    "blocked_by_dependency": "a task it depends on could not be scheduled",
    "longer_than_any_window": "longer than any free window, and not splittable",
    "no_capacity_in_window": "no free time left in the scheduling window",
}
DELETED_BY_USER = (
    "its block was deleted on the calendar: it needs attention (POST /v1/runs with restore_deleted places it again)"
)


@dataclass(frozen=True, slots=True)
class TaskReport:
    task_id: UUID
    title: str
    status: ReportStatus
    expected_finish: datetime | None
    deadline: datetime | None
    scheduled_minutes: int
    reason: str | None


def task_reports(spec: RunSpec, solution: Solution, fixed: list[ExistingBlock], deleted: set[UUID]) -> list[TaskReport]:
    """One report per task of the request, in its order. A task whose work is all done has no outcome of the
    solver (nothing was left to place) and counts as on track."""
    minutes: dict[UUID, int] = defaultdict(int)
    spans = [(b.task_id, b.start, b.end) for b in solution.blocks] + [(b.task_id, b.start, b.end) for b in fixed]
    for task_id, start, end in spans:
        minutes[task_id] += int((end - start).total_seconds() // 60)
    outcomes = {outcome.task_id: outcome for outcome in solution.outcomes}
    reports = []
    for task in spec.tasks:
        outcome = outcomes.get(task.id)
        status: ReportStatus = "on_track"
        finish, reason = None, None
        if task.id in deleted:
            status, reason = "unscheduled", DELETED_BY_USER
        elif outcome is not None:
            finish = outcome.expected_finish
            status = "unscheduled" if outcome.unscheduled_reason else outcome.status
            if outcome.unscheduled_reason:
                reason = REASONS.get(outcome.unscheduled_reason, outcome.unscheduled_reason)
        reports.append(
            TaskReport(
                task_id=task.id,
                title=task.title,
                status=status,
                expected_finish=finish,
                deadline=task.deadline,
                scheduled_minutes=minutes[task.id],
                reason=reason,
            )
        )
    return reports
