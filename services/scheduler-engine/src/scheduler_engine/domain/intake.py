"""What a run is asked to do, whichever door it came in by (the planner's hand-over or `POST /v1/runs`),
and the checks the contracts cannot make: dependencies that exist and form no cycle, windows that make sense.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from pma_core.contracts.scheduling import RunCreate, RunTask, SchedulableTask, ScheduleRequest
from pma_core.errors import ValidationFailedError
from scheduler_engine.domain.models import TaskToPlace


class RunSpec(BaseModel):
    """One run's input, as stored in its scheduler_runs row (`request`)."""

    model_config = ConfigDict(extra="forbid")

    user_id: str
    plan_id: UUID | None = None
    plan_revision: int | None = None
    tasks: list[RunTask]
    dry_run: bool = False
    window_start: datetime | None = None
    window_days: int | None = None
    constraints: dict[str, Any] = Field(default_factory=dict)
    due_at: datetime | None = None
    restore_deleted: bool = False

    def input_hash(self) -> str:
        """The request's fingerprint: the same key with another request is refused, not replayed."""
        canonical = json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()

    def to_place(self, done_minutes: dict[UUID, int], left_out: set[UUID]) -> tuple[TaskToPlace, ...]:
        """The tasks with what is left of each (work already done comes off its estimate), but those
        `left_out` (their block was deleted by the user: they need attention, not a new block)."""
        return tuple(
            TaskToPlace(
                id=task.id,
                title=task.title,
                minutes=task.estimate_minutes - done_minutes.get(task.id, 0),
                priority=task.priority,
                earliest_start=task.earliest_start,
                deadline=task.deadline,
                hard_deadline=task.hard_deadline,
                depends_on=tuple(task.depends_on),
                splittable=task.splittable,
                min_chunk_minutes=task.min_chunk_minutes,
            )
            for task in self.tasks
            if task.estimate_minutes - done_minutes.get(task.id, 0) > 0 and task.id not in left_out
        )


def from_hand_over(request: ScheduleRequest) -> RunSpec:
    return checked(
        RunSpec(
            user_id=request.user_id,
            plan_id=request.plan_id,
            plan_revision=request.plan_revision,
            tasks=[_run_task(task) for task in request.tasks],
            constraints=request.constraints,
            due_at=request.due_at,
        )
    )


def from_run_request(request: RunCreate, tasks: list[RunTask], plan_revision: int | None = None) -> RunSpec:
    return checked(
        RunSpec(
            user_id=request.user_id,
            plan_id=request.plan_id,
            plan_revision=plan_revision,
            tasks=tasks,
            dry_run=request.dry_run,
            window_start=request.window_start,
            window_days=request.window_days,
            constraints=request.constraints,
            restore_deleted=request.restore_deleted,
        )
    )


def _run_task(task: SchedulableTask) -> RunTask:
    return RunTask.model_validate(task.model_dump(include=set(RunTask.model_fields) - {"hard_deadline"}))


def checked(spec: RunSpec) -> RunSpec:
    """The spec, or a 422 naming the task and the reason."""
    ids = [task.id for task in spec.tasks]
    if len(set(ids)) != len(ids):
        raise _invalid("body.tasks", "each task id may appear once", "duplicate_task")
    known = set(ids)
    for index, task in enumerate(spec.tasks):
        field = f"body.tasks.{index}"
        if task.earliest_start and task.deadline and task.deadline <= task.earliest_start:
            raise _invalid(field, f"task {task.id}: the deadline is not after the earliest start", "window")
        if unknown := [str(dep) for dep in task.depends_on if dep not in known]:
            raise _invalid(f"{field}.depends_on", f"task {task.id} depends on unknown tasks {unknown}", "unknown")
        if task.id in task.depends_on:
            raise _invalid(f"{field}.depends_on", f"task {task.id} depends on itself", "cycle")
    if cycle := _cycle({task.id: task.depends_on for task in spec.tasks}):
        raise _invalid("body.tasks", f"the dependencies form a cycle: {' -> '.join(map(str, cycle))}", "cycle")
    return spec


def _cycle(graph: dict[UUID, list[UUID]]) -> list[UUID] | None:
    """One dependency cycle (its tasks in order, the first again at the end), or None."""
    state: dict[UUID, int] = {}  # 1: on the current path, 2: finished
    path: list[UUID] = []

    def visit(node: UUID) -> list[UUID] | None:
        state[node] = 1
        path.append(node)
        for dep in graph.get(node, []):
            if state.get(dep) == 1:
                return [*path[path.index(dep) :], dep]
            if dep not in state and (found := visit(dep)):
                return found
        path.pop()
        state[node] = 2
        return None

    for node in graph:
        if node not in state and (found := visit(node)):
            return found
    return None


def _invalid(field: str, message: str, kind: str) -> ValidationFailedError:
    return ValidationFailedError(
        f"invalid request: {field}: {message}", details=[{"field": field, "message": message, "type": kind}]
    )
