"""drafts.py: the checks every plan draft passes (with their messages), cycles, order, deadline clamping."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from planner_engine.domain.drafts import PlanDraft, clamp_deadlines, find_cycle, topological_order
from pma_core.contracts.library import Sop, SopStep
from pma_core.contracts.tasks import TaskSpec

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
SOP = Sop(title="Two steps", steps=[SopStep(title="One"), SopStep(title="Two")])


def task(key: str, *deps: str, **fields: Any) -> TaskSpec:
    return TaskSpec.model_validate(
        {"key": key, "title": f"Task {key}", "estimate_minutes": 30, "depends_on": list(deps)} | fields
    )


def keys(tasks: list[TaskSpec]) -> list[str]:
    return [t.key for t in tasks]


def draft_error(tasks: list[TaskSpec]) -> str:
    with pytest.raises(ValidationError) as caught:
        PlanDraft(sop=SOP, tasks=tasks)
    (error,) = caught.value.errors()
    return str(error["msg"])


def test_find_cycle_returns_a_closed_path_or_nothing() -> None:
    assert find_cycle([task("a"), task("b", "a"), task("c", "a", "b")]) == []
    assert find_cycle([task("a", "b"), task("b", "a")]) == ["a", "b", "a"]
    assert find_cycle([task("a", "a")]) == ["a", "a"]
    assert find_cycle([task("x"), task("a", "c"), task("b", "a"), task("c", "b")]) == ["a", "c", "b", "a"]
    # A cycle off to the side of an acyclic start is still found.
    assert find_cycle([task("a"), task("b", "a", "c"), task("c", "b")]) == ["b", "c", "b"]
    # Repeated dependencies and unknown keys are no cycle.
    assert find_cycle([task("a"), task("b", "a", "a", "ghost")]) == []
    assert find_cycle([]) == []


def test_topological_order_puts_dependencies_first_and_is_otherwise_stable() -> None:
    assert keys(topological_order([task("a"), task("b"), task("c")])) == ["a", "b", "c"]
    assert keys(topological_order([task("c", "a"), task("a"), task("b", "c")])) == ["a", "c", "b"]
    assert keys(topological_order([task("d", "b", "c"), task("c"), task("b", "c"), task("a")])) == ["c", "b", "d", "a"]


def test_a_consistent_draft_passes() -> None:
    draft = PlanDraft(sop=SOP, tasks=[task("t1", step=1), task("t2", "t1", step=2)])
    assert keys(draft.tasks) == ["t1", "t2"]


def test_draft_checks_say_what_is_wrong() -> None:
    assert draft_error([task("t1"), task("t2"), task("t1"), task("t2")]) == (
        "Value error, task keys must be unique; repeated: t1, t2"
    )
    assert draft_error([task("t1", "t0", "t9")]) == "Value error, task t1 depends on unknown keys: t0, t9"
    assert draft_error([task("t1", step=3)]) == "Value error, task t1 names step 3; the SOP has 2 steps"
    assert draft_error([task("t1", "t2"), task("t2", "t1")]) == (
        "Value error, dependencies form a cycle: t1 -> t2 -> t1; dependencies must be acyclic"
    )
    with pytest.raises(ValidationError, match="at least 1 item"):
        PlanDraft(sop=SOP, tasks=[])


def test_clamp_deadlines_moves_late_deadlines_to_the_due_date() -> None:
    due = NOW + timedelta(days=1)
    draft = PlanDraft(
        sop=SOP,
        tasks=[
            task("t1", deadline=NOW + timedelta(hours=2)),
            task("t2", deadline=due + timedelta(hours=1), earliest_start=due + timedelta(minutes=30)),
            task("t3", deadline=due + timedelta(days=2), earliest_start=NOW),
            task("t4"),
        ],
    )

    clamped, warnings = clamp_deadlines(draft, due)

    assert warnings == ["deadlines after the due date were moved to it: tasks t2, t3"]
    assert [t.deadline for t in clamped.tasks] == [NOW + timedelta(hours=2), due, due, None]
    # A start that would now be at or after its deadline is dropped; one still before it stays.
    assert [t.earliest_start for t in clamped.tasks] == [None, None, NOW, None]
    # The original is untouched.
    assert draft.tasks[1].deadline == due + timedelta(hours=1)


def test_clamp_deadlines_without_due_date_or_late_tasks_changes_nothing() -> None:
    draft = PlanDraft(sop=SOP, tasks=[task("t1", deadline=NOW + timedelta(days=9))])
    assert clamp_deadlines(draft, None) == (draft, [])
    assert clamp_deadlines(draft, NOW + timedelta(days=9)) == (draft, [])
