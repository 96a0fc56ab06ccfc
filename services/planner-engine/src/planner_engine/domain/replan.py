"""Offline replanning: a small, documented grammar of directives applied to the current draft.

Directives are separated by new lines or `;` (docs/planner.md):
- `add <title>` or `add <title> (<N> min)`: a new task after the last one
- `remove <task>` / `drop <task>` / `skip <task>`: the task goes; its dependants inherit its dependencies
- `<task>: <N> min` / `<task> takes <N> h`: a new estimate
- `make <task> urgent|high|normal|low`: a new priority
`<task>` is a task key (t3) or a unique part of its title. Anything else is a 422 that names the
directive, since only the LLM planner understands free text. Surviving tasks keep their keys, so the
stored tasks keep their ids.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from planner_engine.domain.drafts import PlanDraft
from planner_engine.domain.offline import sized_fields
from pma_core.contracts.tasks import MAX_ESTIMATE_MINUTES, Priority, TaskSpec
from pma_core.errors import ValidationFailedError

GRAMMAR = (
    "offline replanning understands: 'add <title> [(N min)]', 'remove <task>', '<task>: N min', "
    "'<task> takes N h', 'make <task> urgent|high|normal|low' (a task is its key, e.g. t2, or part of its title); "
    "set an LLM key for free-form feedback"
)
_DURATION = r"(\d+(?:\.\d+)?)\s*(m|min|mins|minutes?|h|hrs?|hours?)"
_ADD = re.compile(rf"^add\s+(.+?)(?:\s*\(\s*{_DURATION}\s*\))?$", re.IGNORECASE)
_REMOVE = re.compile(r"^(?:remove|drop|skip|delete)\s+(.+)$", re.IGNORECASE)
_ESTIMATE = re.compile(rf"^(.+?)(?:\s*:\s*|\s+takes\s+){_DURATION}$", re.IGNORECASE)
_PRIORITY = re.compile(r"^make\s+(.+?)\s+(urgent|high|normal|low)(?:\s+priority)?$", re.IGNORECASE)
NEW_TASK_MINUTES = 60


def _minutes(amount: str, unit: str, directive: str) -> int:
    value = round(float(amount) * (60 if unit.lower().startswith("h") else 1))
    if not 0 < value <= MAX_ESTIMATE_MINUTES:
        raise _problem(f"an estimate must be 1..{MAX_ESTIMATE_MINUTES} minutes, not {value}", directive)
    return value


def _problem(message: str, directive: str) -> ValidationFailedError:
    return ValidationFailedError(
        f"invalid request: feedback: {message}",
        details=[{"field": "feedback", "message": message, "directive": directive, "grammar": GRAMMAR}],
    )


def find_task(tasks: list[TaskSpec], ref: str, directive: str) -> TaskSpec:
    ref = ref.strip().strip("'\"")
    by_key = [task for task in tasks if task.key.lower() == ref.lower()]
    found = by_key or [task for task in tasks if ref.lower() in task.title.lower()]
    if len(found) != 1:
        what = "matches no task" if not found else f"matches {len(found)} tasks; use a key"
        raise _problem(f"'{ref}' {what}", directive)
    return found[0]


def _add(tasks: list[TaskSpec], match: re.Match[str], retired: set[str]) -> list[TaskSpec]:
    # Never a key the plan had before, removed ones included: the key keeps the task's id, and executions
    # and calendar blocks point at ids, so a new task must not inherit a removed task's.
    used = {task.key for task in tasks} | retired
    index = len(tasks) + 1
    while f"t{index}" in used:
        index += 1
    minutes = _minutes(match.group(2), match.group(3), match.group(0)) if match.group(2) else NEW_TASK_MINUTES
    after = [tasks[-1].key] if tasks else []
    # It comes last, so it is due when the plan's work is: the latest deadline of the others, if any.
    deadline = max((task.deadline for task in tasks if task.deadline), default=None)
    new = TaskSpec.model_validate(
        {
            "key": f"t{index}",
            "title": match.group(1),
            "depends_on": after,
            "deadline": deadline,
            **sized_fields(minutes),
        }
    )
    retired.add(new.key)
    return [*tasks, new]


def _remove(tasks: list[TaskSpec], gone: TaskSpec) -> list[TaskSpec]:
    def rewire(task: TaskSpec) -> TaskSpec:
        if gone.key not in task.depends_on:
            return task
        deps = [d for d in task.depends_on if d != gone.key] + [d for d in gone.depends_on if d not in task.depends_on]
        return task.model_copy(update={"depends_on": deps})

    return [rewire(task) for task in tasks if task.key != gone.key]


def _replace(tasks: list[TaskSpec], target: TaskSpec, **changes: object) -> list[TaskSpec]:
    return [task.model_copy(update=changes) if task.key == target.key else task for task in tasks]


def _apply(tasks: list[TaskSpec], directive: str, retired: set[str]) -> list[TaskSpec]:
    handlers: list[tuple[re.Pattern[str], Callable[[re.Match[str]], list[TaskSpec]]]] = [
        (_ADD, lambda m: _add(tasks, m, retired)),
        (_REMOVE, lambda m: _remove(tasks, find_task(tasks, m.group(1), directive))),
        (
            _PRIORITY,
            lambda m: _replace(tasks, find_task(tasks, m.group(1), directive), priority=_priority(m.group(2))),
        ),
        (
            _ESTIMATE,
            lambda m: _replace(
                tasks,
                find_task(tasks, m.group(1), directive),
                **sized_fields(_minutes(m.group(2), m.group(3), directive)),
            ),
        ),
    ]
    for pattern, handle in handlers:
        match = pattern.match(directive)
        if match:
            return handle(match)
    raise _problem(f"'{directive}' is not a directive offline planning understands", directive)


_PRIORITIES: dict[str, Priority] = {"urgent": "urgent", "high": "high", "normal": "normal", "low": "low"}


def _priority(word: str) -> Priority:
    return _PRIORITIES[word.lower()]


def replan_offline(draft: PlanDraft, feedback: str) -> PlanDraft:
    """The draft with each directive applied in order."""
    directives = [part.strip().rstrip(".") for part in re.split(r"[;\n]", feedback) if part.strip()]
    tasks = list(draft.tasks)
    retired = {task.key for task in tasks}
    for directive in directives:
        tasks = _apply(tasks, directive, retired)
    if not tasks:
        raise _problem("the feedback removes every task; cancel the plan instead", feedback[:200])
    return PlanDraft(sop=draft.sop, tasks=tasks)
