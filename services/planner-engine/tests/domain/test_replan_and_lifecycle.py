"""replan.py (the offline directive grammar) and lifecycle.py (which status may follow which)."""

from __future__ import annotations

from typing import Any

import pytest

from planner_engine.domain.drafts import PlanDraft
from planner_engine.domain.lifecycle import ensure_replannable, ensure_transition
from planner_engine.domain.replan import GRAMMAR, replan_offline
from pma_core.contracts.library import Sop, SopStep
from pma_core.contracts.plans import PLAN_TRANSITIONS
from pma_core.errors import ConflictError, ValidationFailedError

TITLES = ["Outline the post", "Write the first draft", "Edit the draft", "Publish the post"]


def draft() -> PlanDraft:
    tasks = [
        {"key": f"t{i}", "title": title, "estimate_minutes": 30 * i, "depends_on": [f"t{i - 1}"] if i > 1 else []}
        for i, title in enumerate(TITLES, start=1)
    ]
    return PlanDraft.model_validate({"sop": Sop(title="Post", steps=[SopStep(title="All")]), "tasks": tasks})


def shape(result: PlanDraft) -> list[tuple[Any, ...]]:
    return [(t.key, t.estimate_minutes, t.priority, t.depends_on) for t in result.tasks]


def problem(feedback: str) -> dict[str, Any]:
    with pytest.raises(ValidationFailedError) as caught:
        replan_offline(draft(), feedback)
    (detail,) = caught.value.details
    assert detail["field"] == "feedback"
    assert detail["grammar"] == GRAMMAR
    assert caught.value.message == f"invalid request: feedback: {detail['message']}"
    return dict(detail)


@pytest.mark.parametrize(
    ("feedback", "key", "minutes", "splittable"),
    [
        ("t2: 45 min", "t2", 45, False),
        ("T2: 45 minutes", "t2", 45, False),
        ("t2 : 2h", "t2", 120, True),
        ("first draft takes 1.5 hours", "t2", 90, False),
        ("'Edit the draft' takes 100 mins", "t3", 100, True),
        ("publish takes 2 hrs.", "t4", 120, True),
    ],
)
def test_estimate_directives(feedback: str, key: str, minutes: int, splittable: bool) -> None:
    (task,) = [t for t in replan_offline(draft(), feedback).tasks if t.key == key]
    assert (task.estimate_minutes, task.splittable, task.min_chunk_minutes) == (
        minutes,
        splittable,
        30 if splittable else None,
    )


@pytest.mark.parametrize(
    ("feedback", "key", "priority"),
    [
        ("make t3 urgent", "t3", "urgent"),
        ("Make outline LOW priority", "t1", "low"),
        ("make 'Publish' high", "t4", "high"),
        ("make t1 normal", "t1", "normal"),
    ],
)
def test_priority_directives(feedback: str, key: str, priority: str) -> None:
    result = replan_offline(draft(), feedback)
    assert {t.key: t.priority for t in result.tasks}[key] == priority
    assert [t.priority for t in result.tasks if t.key != key] == ["normal"] * 3


def test_add_appends_after_the_last_task_with_a_fresh_key() -> None:
    result = replan_offline(draft(), "add Share on social media (2 h); ADD Reply to comments")
    assert [(t.key, t.title, t.estimate_minutes, t.depends_on, t.splittable) for t in result.tasks[4:]] == [
        ("t5", "Share on social media", 120, ["t4"], True),
        ("t6", "Reply to comments", 60, ["t5"], False),
    ]
    # A key freed by a removal is not reused while a later key exists.
    rekeyed = replan_offline(draft(), "remove t2; add Proofread")
    assert [t.key for t in rekeyed.tasks] == ["t1", "t3", "t4", "t5"]


@pytest.mark.parametrize("verb", ["remove", "drop", "skip", "delete", "Remove"])
def test_remove_rewires_dependants_to_the_removed_tasks_dependencies(verb: str) -> None:
    result = replan_offline(draft(), f"{verb} t2")
    assert shape(result) == [("t1", 30, "normal", []), ("t3", 90, "normal", ["t1"]), ("t4", 120, "normal", ["t3"])]


def test_remove_does_not_duplicate_inherited_dependencies() -> None:
    base = draft()
    tasks = [*base.tasks[:3], base.tasks[3].model_copy(update={"depends_on": ["t1", "t3"]})]
    result = replan_offline(base.model_copy(update={"tasks": tasks}), "remove t3")
    assert [t.depends_on for t in result.tasks] == [[], ["t1"], ["t1", "t2"]]
    assert replan_offline(draft(), "remove t1").tasks[0].depends_on == []


def test_directives_apply_in_order_and_blank_ones_are_ignored() -> None:
    result = replan_offline(draft(), "t1: 10 min;; \n make t1 high.\n\nt1: 20 min")
    assert shape(result)[0] == ("t1", 20, "high", [])
    assert result.sop == draft().sop


def test_unknown_directives_and_references_are_named() -> None:
    unknown = problem("t1: 10 min; rewrite everything in French")
    assert unknown["directive"] == "rewrite everything in French"
    assert unknown["message"] == "'rewrite everything in French' is not a directive offline planning understands"

    ambiguous = problem("make the urgent")
    assert ambiguous["message"] == "'the' matches 4 tasks; use a key"
    assert ambiguous["directive"] == "make the urgent"
    assert problem("remove t7")["message"] == "'t7' matches no task"
    assert problem("t1: ten min")["directive"] == "t1: ten min"
    assert problem("make t1 whenever")["directive"] == "make t1 whenever"
    gone = problem("remove t1; remove t2; remove t3; remove t4")
    assert gone["message"] == "the feedback removes every task; cancel the plan instead"


def test_the_lifecycle_table() -> None:
    allowed = [
        ("draft", "accepted"),
        ("draft", "cancelled"),
        ("accepted", "scheduled"),
        ("accepted", "in_progress"),
        ("accepted", "cancelled"),
        ("scheduled", "in_progress"),
        ("scheduled", "cancelled"),
        ("in_progress", "done"),
        ("in_progress", "cancelled"),
    ]
    for current, wanted in allowed:
        ensure_transition(current, wanted)
    statuses = list(PLAN_TRANSITIONS)
    for current in statuses:
        for wanted in statuses:
            if (current, wanted) in allowed:
                continue
            with pytest.raises(ConflictError) as caught:
                ensure_transition(current, wanted)
            assert caught.value.status_code == 409
            assert caught.value.code == "illegal_transition"
            assert caught.value.details == {
                "status": current,
                "requested": wanted,
                "allowed": sorted(PLAN_TRANSITIONS[current]),
            }


def test_illegal_transition_messages() -> None:
    with pytest.raises(ConflictError) as caught:
        ensure_transition("draft", "done")
    assert caught.value.message == "a plan cannot go from draft to done; from draft it can go to: accepted, cancelled"
    with pytest.raises(ConflictError) as caught:
        ensure_transition("done", "draft")
    assert caught.value.message == "a plan cannot go from done to draft; from done it can go to: none: it is final"


def test_only_open_plans_are_replannable() -> None:
    for status in ("draft", "accepted", "scheduled", "in_progress"):
        ensure_replannable(status)
    for status in ("done", "cancelled"):
        with pytest.raises(ConflictError) as caught:
            ensure_replannable(status)
        assert (caught.value.code, caught.value.details) == ("illegal_transition", {"status": status})


@pytest.mark.parametrize("feedback", ["t1: 0 min", "t1 takes 41 h"])
def test_an_estimate_outside_1_to_2400_minutes_is_refused_naming_the_directive(feedback: str) -> None:
    with pytest.raises(ValidationFailedError) as caught:
        replan_offline(draft(), feedback)
    assert "an estimate must be 1..2400 minutes" in caught.value.message
    assert caught.value.details[0]["directive"] == feedback
