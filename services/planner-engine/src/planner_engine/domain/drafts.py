"""A plan draft (an SOP and its tasks by key), the shape every planner produces and the LLM must return.

The checks live in the model so that the LLM client's one repair attempt covers them: a reply with
duplicate keys, a dependency on an unknown key, a cycle, or a task pointing at a missing step is sent
back to the model with the reason; a second bad reply is a 502. Non-positive estimates fail the
`TaskSpec` field itself, with the same effect.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, model_validator

from pma_core.contracts.library import Sop
from pma_core.contracts.tasks import MAX_TASKS, TaskSpec


class PlanDraft(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sop: Sop
    tasks: list[TaskSpec] = Field(min_length=1, max_length=MAX_TASKS)

    @model_validator(mode="after")
    def _consistent_tasks(self) -> PlanDraft:
        keys = [task.key for task in self.tasks]
        duplicates = sorted({key for key in keys if keys.count(key) > 1})
        if duplicates:
            raise ValueError(f"task keys must be unique; repeated: {', '.join(duplicates)}")
        known = set(keys)
        for task in self.tasks:
            unknown = [dep for dep in task.depends_on if dep not in known]
            if unknown:
                raise ValueError(f"task {task.key} depends on unknown keys: {', '.join(unknown)}")
            if task.step is not None and task.step > len(self.sop.steps):
                raise ValueError(f"task {task.key} names step {task.step}; the SOP has {len(self.sop.steps)} steps")
        cycle = find_cycle(self.tasks)
        if cycle:
            raise ValueError(f"dependencies form a cycle: {' -> '.join(cycle)}; dependencies must be acyclic")
        return self


def find_cycle(tasks: Sequence[TaskSpec]) -> list[str]:
    """One dependency cycle as a key path ending where it starts, or [] when there is none."""
    graph = {task.key: list(dict.fromkeys(task.depends_on)) for task in tasks}
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    for root in graph:
        if state.get(root):
            continue
        path: list[str] = []
        stack: list[tuple[str, int]] = [(root, 0)]
        while stack:
            key, index = stack.pop()
            if index == 0:
                state[key] = 1
                path.append(key)
            deps = graph.get(key, [])
            if index < len(deps):
                stack.append((key, index + 1))
                dep = deps[index]
                if state.get(dep) == 1:
                    return [*path[path.index(dep) :], dep]
                if not state.get(dep):
                    stack.append((dep, 0))
                continue
            state[key] = 2
            path.pop()
    return []


def topological_order(tasks: Sequence[TaskSpec]) -> list[TaskSpec]:
    """Tasks with every dependency before its dependants, otherwise in the order given (stable)."""
    remaining = list(tasks)
    placed: set[str] = set()
    ordered: list[TaskSpec] = []
    while remaining:
        ready = next(task for task in remaining if all(dep in placed for dep in task.depends_on))
        ordered.append(ready)
        placed.add(ready.key)
        remaining.remove(ready)
    return ordered


def clamp_deadlines(draft: PlanDraft, due_at: datetime | None) -> tuple[PlanDraft, list[str]]:
    """No task may be due after the plan: later deadlines are moved to the due date, with a warning."""
    if due_at is None:
        return draft, []
    late = [task.key for task in draft.tasks if task.deadline is not None and task.deadline > due_at]
    if not late:
        return draft, []
    tasks = [task.model_copy(update={"deadline": due_at}) if task.key in late else task for task in draft.tasks]
    # Moving a deadline can put it before the task's earliest start; drop such a start rather than fail.
    tasks = [
        task.model_copy(update={"earliest_start": None})
        if task.earliest_start is not None and task.deadline is not None and task.earliest_start >= task.deadline
        else task
        for task in tasks
    ]
    warning = f"deadlines after the due date were moved to it: tasks {', '.join(late)}"
    return draft.model_copy(update={"tasks": tasks}), [warning]
