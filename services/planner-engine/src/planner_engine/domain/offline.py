"""The offline planner: deterministic, no model. The same input always gives the same plan.

Without a matching SOP it decomposes the intent by this heuristic (docs/planner.md):
1. An explicit list in the intent or context (lines starting with -, *, or 1.) becomes the steps, one
   task each, in order.
2. Otherwise the intent's first verb picks a playbook (launch, write, fix, build, learn, organise, or a
   generic one) whose steps are applied to the rest of the intent; a due phrase ("by Friday") is cut off.
3. Each step is one task depending on the one before. Estimates follow estimates.py; a task over 90
   minutes is deep work, splittable in chunks of at least 30. With a due date, deadlines are spread over
   the time left in proportion to the work before each task, and priority rises as the date nears.
With a matching SOP, its task pattern is instantiated instead (keys, order and dependencies kept).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from planner_engine.domain.drafts import PlanDraft
from planner_engine.domain.estimates import EstimateProfile, estimate, known_estimate
from planner_engine.domain.playbooks import Playbook, StepPattern, pick_playbook
from pma_core.contracts.library import Sop, SopRead, SopStep
from pma_core.contracts.tasks import Priority, TaskSpec

DEEP_WORK_MINUTES = 90
MIN_CHUNK_MINUTES = 30
EXPLICIT_STEP_MINUTES = 60
_LIST_ITEM = re.compile(r"^\s*(?:[-*\u2022]|\d+[.)])\s+(.+?)\s*$")
_DUE_PHRASE = re.compile(
    r"\s+(?:by|before|until|due|on)\s+(?:today|tonight|tomorrow|next\s+\w+|this\s+\w+|end\s+of\s+.+|"
    r"(?:mon|tues|wednes|thurs|fri|satur|sun)day|\d{4}-\d{2}-\d{2}|\d{1,2}(?:st|nd|rd|th)?\s+\w+)\b.*$",
    re.IGNORECASE,
)
_WORD = re.compile(r"[A-Za-z][A-Za-z'-]*")


@dataclass(frozen=True, slots=True)
class PlanningInput:
    intent: str
    context: str
    due_at: datetime | None
    now: datetime
    profile: EstimateProfile


def explicit_steps(text: str) -> list[str]:
    """The items of a bulleted or numbered list in the text, in order."""
    return [match.group(1) for line in text.splitlines() if (match := _LIST_ITEM.match(line))]


def split_intent(intent: str) -> tuple[str, str]:
    """(first verb, lowercased; object) of an intent, with any due phrase cut off the object."""
    first_line = intent.strip().splitlines()[0]
    clause = _DUE_PHRASE.sub("", first_line).strip().rstrip(".!")
    words = clause.split(maxsplit=1)
    verb_match = _WORD.match(words[0]) if words else None
    verb = verb_match.group(0).lower() if verb_match else ""
    obj = words[1] if len(words) > 1 else clause
    return verb, obj or clause


def headline(intent: str) -> str:
    """The intent's first line without its due phrase: what an SOP made from it is called."""
    first_line = intent.strip().splitlines()[0]
    clause = _DUE_PHRASE.sub("", first_line).strip().rstrip(".!") or first_line
    return clause[:1].upper() + clause[1:200]


def plan_from_intent(given: PlanningInput) -> PlanDraft:
    """A generic SOP and its tasks for an intent no saved SOP matches."""
    items = explicit_steps(given.intent) or explicit_steps(given.context)
    if items:
        patterns = [StepPattern(item, "", f"{item}: done", EXPLICIT_STEP_MINUTES) for item in items[:30]]
        playbook = Playbook("explicit", frozenset(), tuple(patterns))
        obj = split_intent(given.intent)[1]
    else:
        verb, obj = split_intent(given.intent)
        playbook = pick_playbook(verb)
    steps = [_step(pattern, obj) for pattern in playbook.steps]
    sop = Sop(title=headline(given.intent), summary=f"{playbook.name} playbook", steps=steps)
    tasks = [
        _task(index, step.title, base=pattern.minutes, tags=(playbook.name, *pattern.tags), given=given)
        for index, (step, pattern) in enumerate(zip(steps, playbook.steps, strict=True), start=1)
    ]
    return PlanDraft(sop=sop, tasks=schedule_window(tasks, given))


def plan_from_sop(sop: SopRead, given: PlanningInput) -> PlanDraft:
    """The saved SOP's task pattern for a new intent. Its estimates already reflect the user's history when
    it was saved, so only tasks executed since (by title) are re-estimated; scaling again would compound."""
    base = SopPatternTasks(sop).tasks()
    tasks = [
        task.model_copy(
            update=sized_fields(known_estimate(task.estimate_minutes, title=task.title, profile=given.profile))
        )
        for task in base
    ]
    steps = Sop(title=sop.title, summary=sop.summary, steps=sop.steps)
    return PlanDraft(sop=steps, tasks=schedule_window(tasks, given))


class SopPatternTasks:
    """A saved SOP's tasks; an SOP saved without tasks gets one task per step."""

    def __init__(self, sop: SopRead) -> None:
        self._sop = sop

    def tasks(self) -> list[TaskSpec]:
        if self._sop.tasks:
            return [task.model_copy(update={"earliest_start": None, "deadline": None}) for task in self._sop.tasks]
        keys = [f"t{index}" for index in range(1, len(self._sop.steps) + 1)]
        return [
            TaskSpec(
                key=key,
                title=step.title,
                description=step.purpose,
                estimate_minutes=EXPLICIT_STEP_MINUTES,
                depends_on=keys[index - 1 : index] if index else [],
                step=index + 1,
            )
            for index, (key, step) in enumerate(zip(keys, self._sop.steps, strict=True))
        ]


def _step(pattern: StepPattern, obj: str) -> SopStep:
    title = pattern.title.format(obj=obj)[:200]
    done = [pattern.done.format(obj=obj)[:500]] if pattern.done else []
    return SopStep(title=title, purpose=pattern.purpose, inputs=[], done_criteria=done)


def sized_fields(minutes: int) -> dict[str, object]:
    deep = minutes > DEEP_WORK_MINUTES
    return {"estimate_minutes": minutes, "splittable": deep, "min_chunk_minutes": MIN_CHUNK_MINUTES if deep else None}


def _task(index: int, title: str, *, base: int, tags: tuple[str, ...], given: PlanningInput) -> TaskSpec:
    minutes = estimate(base, title=title, tags=tags, profile=given.profile)
    return TaskSpec.model_validate(
        {
            "key": f"t{index}",
            "title": title,
            "depends_on": [f"t{index - 1}"] if index > 1 else [],
            "tags": list(dict.fromkeys(tags)),
            "step": index,
            **sized_fields(minutes),
        }
    )


def priority_for(due_at: datetime | None, now: datetime) -> Priority:
    if due_at is None:
        return "normal"
    left = due_at - now
    if left <= timedelta(days=1):
        return "urgent"
    return "high" if left <= timedelta(days=3) else "normal"


def schedule_window(tasks: list[TaskSpec], given: PlanningInput) -> list[TaskSpec]:
    """Deadlines spread over the time to the due date, in proportion to the work up to each task."""
    if given.due_at is None:
        return tasks
    total = sum(task.estimate_minutes for task in tasks)
    span = max(given.due_at - given.now, timedelta(0))
    priority = priority_for(given.due_at, given.now)
    done, placed = 0, []
    latest = given.now
    for task in tasks:
        done += task.estimate_minutes
        deadline = given.now + span * (done / total) if task is not tasks[-1] else given.due_at
        # A deadline inside the next hour is no help to a scheduler; keep at least the task's own length.
        deadline = max(deadline, min(given.due_at, given.now + timedelta(minutes=task.estimate_minutes)))
        # ... but never before an earlier task's: a task is not due before the one it follows.
        latest = max(latest, deadline)
        placed.append(task.model_copy(update={"deadline": latest, "priority": priority}))
    return placed
