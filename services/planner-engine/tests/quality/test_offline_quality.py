"""How good the offline planner's plans are, measured on a labelled set of realistic intents (intents.json).

Each case says what its plan must have: the due date (or none) in the user's time zone, the deliverables
that must each have a task, qualifiers no title may repeat, and pairs of tasks in a required order. Every
plan is also checked for titles of at most 70 characters that do not repeat the intent, and for acyclic
dependencies that point backwards. The planner is driven through its domain, as planning.py drives it
(due date from the words, then the offline decomposition), with a fixed clock. The pass rate of each
property is printed (`pytest -s`) and must not fall below the floor measured when the set was made.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from planner_engine.domain.drafts import PlanDraft, find_cycle
from planner_engine.domain.due import due_from_intent
from planner_engine.domain.estimates import EstimateProfile
from planner_engine.domain.intent import TITLE_LIMIT
from planner_engine.domain.offline import PlanningInput, plan_from_intent

LABELLED = json.loads((Path(__file__).parent / "intents.json").read_text())
NOW = datetime.fromisoformat(LABELLED["now"])
# The pass rates measured on the set (share of cases); a change that lowers one fails here.
# no_repeat: 78 of 79 ("Translate the help center into German and French" is its own one-task title).
FLOORS = {"due": 1.0, "deliverables": 1.0, "title_length": 1.0, "no_repeat": 0.987, "order": 1.0}


@dataclass(frozen=True)
class Case:
    intent: str
    due: str | None
    deliverables: list[str]
    tz: str = "UTC"
    forbid: list[str] = field(default_factory=list)
    before: list[list[str]] = field(default_factory=list)


CASES = [Case(**case) for case in LABELLED["cases"]]


def plan_for(case: Case) -> tuple[datetime | None, PlanDraft]:
    constraints: dict[str, object] = {"timezone": case.tz}
    due = due_from_intent(case.intent, now=NOW, constraints=constraints)
    return due, plan_from_intent(PlanningInput(case.intent, "", due, NOW, EstimateProfile())).draft


def _index(titles: list[str], words: str) -> int:
    return next((i for i, title in enumerate(titles) if words in title), -1)


def _ancestors(draft: PlanDraft, key: str) -> set[str]:
    deps = {task.key: task.depends_on for task in draft.tasks}
    seen: set[str] = set()
    todo = list(deps[key])
    while todo:
        found = todo.pop()
        if found not in seen:
            seen.add(found)
            todo += deps[found]
    return seen


def check(case: Case) -> dict[str, str]:
    """Each property's failure, in words ("" when it holds)."""
    due, draft = plan_for(case)
    titles = [task.title.lower() for task in draft.tasks]
    failed: dict[str, str] = {}
    day = due.astimezone(ZoneInfo(case.tz)).date().isoformat() if due else None
    if day != case.due:
        failed["due"] = f"due {day}, expected {case.due}"
    missing = [words for words in case.deliverables if _index(titles, words) < 0]
    if missing:
        failed["deliverables"] = f"no task for {missing}"
    long = [title for title in titles if len(title) > TITLE_LIMIT]
    if long:
        failed["title_length"] = f"too long: {long}"
    clause = case.intent.lower().split(",")[0].split(" with ")[0]
    repeated = [t for t in titles if len(clause) > 40 and clause in t] + [
        f"{word!r} in {t!r}" for word in case.forbid for t in titles if word.lower() in t
    ]
    if repeated:
        failed["no_repeat"] = f"repeats the intent: {repeated}"
    order: list[str] = []
    if find_cycle(draft.tasks):
        order.append(f"cycle {find_cycle(draft.tasks)}")
    keys = [task.key for task in draft.tasks]
    order += [f"{t.key} depends on a later task" for t in draft.tasks if any(keys.index(d) >= keys.index(t.key)
                                                                            for d in t.depends_on)]  # fmt: skip
    for first, then in case.before:
        a, b = _index(titles, first), _index(titles, then)
        if a < 0 or b < 0 or keys[a] not in _ancestors(draft, keys[b]):
            order.append(f"{first!r} does not come before {then!r}")
    if order:
        failed["order"] = "; ".join(order)
    return failed


def test_the_labelled_set_is_big_and_varied() -> None:
    assert len(CASES) >= 75
    assert sum(case.due is not None for case in CASES) >= 30
    assert sum(len(case.deliverables) > 1 for case in CASES) >= 20
    assert len({case.intent for case in CASES}) == len(CASES)


def test_pass_rate_per_property_meets_its_floor() -> None:
    results = [(case, check(case)) for case in CASES]
    rates = {name: sum(name not in failed for _, failed in results) / len(results) for name in FLOORS}
    table = "\n".join(f"{name:14} {rate:6.1%}  (floor {FLOORS[name]:.1%})" for name, rate in rates.items())
    failures = "\n".join(f"- {case.intent[:70]}: {failed}" for case, failed in results if failed)
    print(f"\noffline plan quality over {len(results)} intents\n{table}\n{failures}")
    assert all(rates[name] >= floor for name, floor in FLOORS.items()), f"{table}\n{failures}"


def test_the_newsletter_example() -> None:
    case = CASES[0]
    due, draft = plan_for(case)
    assert due == datetime(2027, 1, 31, 17, tzinfo=ZoneInfo("Europe/Berlin"))
    assert [(t.key, t.title, t.estimate_minutes, t.depends_on) for t in draft.tasks] == [
        ("t1", "Define goal, audience and success measure for the paid newsletter tier", 30, []),
        ("t2", "Build the pricing page", 180, ["t1"]),
        ("t3", "Write the welcome email sequence", 180, ["t1"]),
        ("t4", "Set up the Stripe integration", 300, ["t1"]),
        ("t5", "Review and test the paid newsletter tier", 45, ["t2", "t3", "t4"]),
        ("t6", "Launch the paid newsletter tier", 30, ["t5"]),
        ("t7", "Follow up on the paid newsletter tier and record results", 30, ["t6"]),
    ]
    assert all("for our 2,400 subscribers" in t.description for t in draft.tasks)
    assert draft.tasks[-1].deadline == due
    assert draft.sop.title == "Launch a paid newsletter tier for our 2,400 subscribers"
