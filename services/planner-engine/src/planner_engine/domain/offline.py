"""The offline planner: deterministic, no model. The same input always gives the same plan.

Without a matching SOP it decomposes the intent (docs/planner.md, "The offline planner"):
1. An explicit list in the intent or context (lines starting with -, *, or 1.) is the plan: one task per
   item, in order, each after the one before.
2. Otherwise the intent is read (intent.py) into a verb, a goal, qualifiers and named deliverables; the
   goal's nouns or the verb pick a playbook (playbooks.py) whose open steps come first, whose core steps are
   replaced by one task per named deliverable (titled by its kind: "Build the pricing page", sized by it),
   and whose close steps (review, launch, follow-up) wait for all of them. A sequence of actions ("write
   the spec, then build the prototype") is planned as given. Qualifiers go to descriptions, not titles.
3. Estimates follow estimates.py, and the plan keeps how each was reached (`OfflinePlan.estimates`, which
   estimate_notes.py puts in words); a task over 90 minutes is deep work, splittable in chunks of at least 30.
   With a due date, deadlines are spread over the time left in proportion to the work before each task, and
   priority rises as the date nears.
With a matching SOP, its task pattern is instantiated instead (keys, order and dependencies kept).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from planner_engine.domain.drafts import PlanDraft
from planner_engine.domain.estimate_notes import Estimated
from planner_engine.domain.estimates import Estimate, EstimateProfile, explain, explain_known
from planner_engine.domain.intent import (
    TITLE_LIMIT,
    Deliverable,
    ReadIntent,
    head_of,
    read_intent,
    shorten,
)
from planner_engine.domain.playbooks import GENERIC, Playbook, StepPattern, choose_playbook, kind_of
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


@dataclass(frozen=True, slots=True)
class OfflinePlan:
    """An offline draft, and how each of its tasks' estimates was reached (in task order)."""

    draft: PlanDraft
    estimates: list[Estimated]


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


def plan_from_intent(given: PlanningInput) -> OfflinePlan:
    """A generic SOP and its tasks for an intent no saved SOP matches."""
    items = explicit_steps(given.intent) or explicit_steps(given.context)
    if items:
        return _plan_from_list(items[:30], given)
    read = read_intent(given.intent, now=given.now, constraints={})
    playbook = choose_playbook(read.verb, read.goal) if read.verb else _playbook_by_nouns(read.goal)
    drafts = _drafts(read, playbook)
    note = _description(read)
    steps = [draft.step for draft in drafts]
    tasks = [
        _task(
            index,
            draft.step.title,
            base=draft.minutes,
            tags=(playbook.name, *draft.tags),
            given=given,
            depends_on=[f"t{dep + 1}" for dep in draft.depends_on],
            description="\n".join(part for part in (draft.detail, note) if part),
        )
        for index, draft in enumerate(drafts, start=1)
    ]
    title = shorten(read.headline, 200) if read.headline else headline(given.intent)
    sop = Sop(title=title, summary=f"{playbook.name} playbook", steps=steps)
    return _planned(sop, tasks, given)


def _planned(sop: Sop, tasks: list[tuple[TaskSpec, Estimate]], given: PlanningInput) -> OfflinePlan:
    draft = PlanDraft(sop=sop, tasks=schedule_window([task for task, _ in tasks], given))
    return OfflinePlan(draft=draft, estimates=[(task.title, how) for task, how in tasks])


def _plan_from_list(items: list[str], given: PlanningInput) -> OfflinePlan:
    """The user's own list: one task per item, in order, each after the one before."""
    patterns = [StepPattern(shorten(item), "", f"{shorten(item)}: done", EXPLICIT_STEP_MINUTES) for item in items]
    steps = [_step(pattern, "") for pattern in patterns]
    tasks = [
        _task(
            index,
            step.title,
            base=EXPLICIT_STEP_MINUTES,
            tags=("explicit",),
            given=given,
            depends_on=[f"t{index - 1}"] if index > 1 else [],
            description=item if len(item) > TITLE_LIMIT else "",
        )
        for index, (step, item) in enumerate(zip(steps, items, strict=True), start=1)
    ]
    sop = Sop(title=headline(given.intent), summary="explicit playbook", steps=steps)
    return _planned(sop, tasks, given)


@dataclass(frozen=True, slots=True)
class _Draft:
    step: SopStep
    minutes: int
    tags: tuple[str, ...]
    depends_on: list[int]  # indexes of earlier drafts
    detail: str = ""


def _playbook_by_nouns(goal: str) -> Playbook:
    """For an intent that starts with no verb ("Newsletter launch in January"): a playbook a word names."""
    for word in dict.fromkeys(re.findall(r"[a-z]+", goal.lower()[:200])):
        found = choose_playbook(word, goal)
        if found is not GENERIC:
            return found
    return choose_playbook("", goal)


def _fit(pattern: str, goal: str) -> str:
    """A step title with the goal in it, at most TITLE_LIMIT characters (the goal cut to its head if need be)."""
    title = pattern.replace("{obj}", goal)
    if len(title) <= TITLE_LIMIT:
        return title
    words = head_of(goal).split()[:12]
    while len(pattern.replace("{obj}", " ".join(words))) > TITLE_LIMIT and len(words) > 2:
        words.pop()
    return shorten(pattern.replace("{obj}", " ".join(words)))


def _drafts(read: ReadIntent, playbook: Playbook) -> list[_Draft]:
    """The playbook's steps around the intent's deliverables, with dependencies by index."""
    goal = read.goal or "it"
    if read.sequential:
        # "Write the spec, then build the prototype and demo it": the plan is the sequence as given.
        given = [_deliverable(item, playbook, []) for item in read.deliverables]
        return [replace(draft, depends_on=[index - 1] if index else []) for index, draft in enumerate(given)]
    opens = [p for p in playbook.steps if p.role == "open"]
    cores = [p for p in playbook.steps if p.role == "core"]
    closes = [p for p in playbook.steps if p.role == "close"]
    drafts: list[_Draft] = []

    def chain(pattern: StepPattern, after: list[int]) -> None:
        title = pattern.title.replace("{verb}", read.verb.capitalize() or "Do")
        if playbook.name == "meeting" and _TALK.search(goal):
            title = title.replace("Hold ", "Give ", 1)  # a talk is given, a meeting held
        pattern = replace(pattern, title=title)
        drafts.append(_Draft(_step(pattern, goal), pattern.minutes, pattern.tags, after))

    for pattern in opens:
        chain(pattern, [len(drafts) - 1] if drafts else [])
    start = [len(drafts) - 1] if drafts else []
    if not read.deliverables:
        for pattern in cores:
            chain(pattern, [len(drafts) - 1] if drafts else [])
    else:
        first_body = len(drafts)
        for item in read.deliverables:
            after = [len(drafts) - 1] if item.after_previous and len(drafts) > first_body else start
            drafts.append(_deliverable(item, playbook, after))
        sinks = [i for i in range(first_body, len(drafts)) if not any(i in d.depends_on for d in drafts)]
        for index, pattern in enumerate(closes):
            chain(pattern, sinks if index == 0 else [len(drafts) - 1])
        return drafts
    for pattern in closes:
        chain(pattern, [len(drafts) - 1] if drafts else [])
    return drafts


_TALK = re.compile(r"\b(?:talk|keynote|presentation|pitch|lecture|speech)\b", re.IGNORECASE)
_MANY = re.compile(r"\b(?:sequence|series|suite|set of|several|multiple|a few|all)\b", re.IGNORECASE)
_FEW = re.compile(r"\b(?:simple|quick|short|small|basic|one-page|single|tiny|brief)\b", re.IGNORECASE)
_COUNT = re.compile(r"^(?:the\s+)?(\d+|two|three|four|five|six|seven|eight|nine|ten|twelve)\s+[a-z]", re.IGNORECASE)
_COUNTS = {"two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10,
           "twelve": 12}  # fmt: skip


def deliverable_minutes(text: str, base: int) -> int:
    """A deliverable's base minutes: its kind's, more for a sequence or a count, less for a quick one."""
    factor = 1.0
    count = _COUNT.match(text)
    if count:
        number = count.group(1).lower()
        factor = min(int(number) if number.isdigit() else _COUNTS[number], 4) * 0.6
        factor = max(factor, 1.0)
    elif _MANY.search(text):
        factor = 1.5
    if _FEW.search(text):
        factor *= 0.5
    return max(15, round(base * factor))


def _deliverable(item: Deliverable, playbook: Playbook, after: list[int]) -> _Draft:
    kind = kind_of(item.text) if item.text else None
    verb = " ".join(word.capitalize() if i == 0 else word for i, word in enumerate(item.verb.split()))
    if not verb:
        verb = kind.verb if kind else playbook.verb
    title = _fit(f"{verb} {{obj}}" if item.text else verb, item.text)
    base = deliverable_minutes(item.text, kind.minutes if kind else 90 if not item.verb else 60)
    purpose = kind.purpose if kind else "Named in the intent"
    step = SopStep(title=title, purpose=purpose, inputs=[], done_criteria=[f"{purpose}"[:500]])
    detail = f"{item.text} {item.detail}".strip() if item.detail else ""
    return _Draft(step, base, kind.tags if kind else (), after, detail[:1000])


def _description(read: ReadIntent) -> str:
    """What the intent says beyond the titles: its qualifiers and notes."""
    parts = []
    if read.qualifiers:
        parts.append(f"Goal: {read.headline}.")
    parts += [note if note.endswith((".", "!", "?")) else f"{note}." for note in read.notes]
    return " ".join(parts)[:3000]


def plan_from_sop(sop: SopRead, given: PlanningInput) -> OfflinePlan:
    """The saved SOP's task pattern for a new intent. Its estimates already reflect the user's history (and
    insights) when it was saved, so only tasks executed since (by title) are re-estimated; scaling again by a
    ratio or an insight would compound."""
    tasks = []
    for task in SopPatternTasks(sop).tasks():
        how = explain_known(task.estimate_minutes, title=task.title, profile=given.profile)
        tasks.append((task.model_copy(update=sized_fields(how.minutes)), how))
    return _planned(Sop(title=sop.title, summary=sop.summary, steps=sop.steps), tasks, given)


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
    title = _fit(pattern.title, obj) if "{obj}" in pattern.title else pattern.title[:200]
    done = [pattern.done.replace("{obj}", obj)[:500]] if pattern.done else []
    return SopStep(title=title, purpose=pattern.purpose, inputs=[], done_criteria=done)


def sized_fields(minutes: int) -> dict[str, object]:
    deep = minutes > DEEP_WORK_MINUTES
    return {"estimate_minutes": minutes, "splittable": deep, "min_chunk_minutes": MIN_CHUNK_MINUTES if deep else None}


def _task(
    index: int,
    title: str,
    *,
    base: int,
    tags: tuple[str, ...],
    given: PlanningInput,
    depends_on: list[str],
    description: str = "",
) -> tuple[TaskSpec, Estimate]:
    how = explain(base, title=title, tags=tags, profile=given.profile)
    task = TaskSpec.model_validate(
        {
            "key": f"t{index}",
            "title": title,
            "description": description,
            "depends_on": depends_on,
            "tags": list(dict.fromkeys(tags)),
            "step": index,
            **sized_fields(how.minutes),
        }
    )
    return task, how


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
