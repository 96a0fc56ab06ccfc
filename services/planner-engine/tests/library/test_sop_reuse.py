"""Plans and the library: accepting a plan saves its SOP; similar intents are then based on it; changed
adaptations become new versions; unrelated intents start afresh; `sop_id` forces a base."""

from __future__ import annotations

from uuid import uuid4

import pytest

from pma_core.clients import PlannerEngineClient, RemoteServiceError
from pma_core.contracts.library import SopCreate
from pma_core.contracts.plans import PlanAccept, PlanCreate, PlanRead, PlanReplan

USER = "alice"
SOP_NAME = "launch-the-q1-newsletter"


async def plan(planner: PlannerEngineClient, intent: str, **fields: object) -> PlanRead:
    return await planner.create_plan(PlanCreate.model_validate({"user_id": USER, "intent": intent, **fields}))


async def accept(planner: PlannerEngineClient, result: PlanRead) -> PlanRead:
    return await planner.accept_plan(result.id, PlanAccept(user_id=USER))


def pattern(result: PlanRead) -> list[tuple[object, ...]]:
    return [(t.key, t.title, t.estimate_minutes, t.splittable, t.tags, t.step) for t in result.tasks]


async def test_accepting_saves_the_sop_and_a_similar_intent_reuses_it(planner: PlannerEngineClient) -> None:
    first = await plan(planner, "Launch the Q1 newsletter by Friday")
    assert first.based_on is None

    accepted = await accept(planner, first)

    assert accepted.status == "accepted"
    assert accepted.based_on is not None
    assert (accepted.based_on.name, accepted.based_on.version, accepted.based_on.title) == (
        SOP_NAME,
        1,
        "Launch the Q1 newsletter",
    )
    (saved,) = (await planner.list_sops(USER)).sops
    assert saved.id == accepted.based_on.id
    assert (saved.source_plan_id, saved.intent, saved.steps) == (first.id, first.intent, first.sop.steps)
    assert [(t.key, t.title, t.estimate_minutes, t.depends_on) for t in saved.tasks] == [
        (t.key, t.title, t.estimate_minutes, [f"t{int(t.key[1:]) - 1}"] if t.key != "t1" else [])
        for t in first.tasks
        if t.key is not None
    ]
    assert saved.tags == ["admin", "deep-work", "launch", "planning", "review"]

    second = await plan(planner, "Launch the Q2 newsletter")

    assert second.based_on is not None
    assert (second.based_on.id, second.based_on.name, second.based_on.version) == (saved.id, SOP_NAME, 1)
    # The saved task pattern is instantiated: keys, titles, estimates, dependencies and steps kept.
    assert pattern(second) == pattern(first)
    assert second.sop == first.sop
    assert [t.depends_on for t in second.tasks] == [[], *[[t.id] for t in second.tasks[:-1]]]


async def test_accepting_an_unchanged_adaptation_adds_no_version(planner: PlannerEngineClient) -> None:
    await accept(planner, await plan(planner, "Launch the Q1 newsletter"))
    adapted = await plan(planner, "Launch the Q2 newsletter")

    accepted = await accept(planner, adapted)

    assert accepted.based_on is not None
    assert (accepted.based_on.name, accepted.based_on.version) == (SOP_NAME, 1)
    assert [(s.name, s.version) for s in (await planner.list_sops(USER)).sops] == [(SOP_NAME, 1)]


async def test_accepting_a_changed_adaptation_adds_a_version_under_the_same_name(
    planner: PlannerEngineClient,
) -> None:
    await accept(planner, await plan(planner, "Launch the Q1 newsletter"))
    adapted = await plan(planner, "Launch the Q2 newsletter")
    changed = await planner.replan(adapted.id, PlanReplan(user_id=USER, feedback="t2: 60 min; add Thank the readers"))

    accepted = await accept(planner, changed)

    assert accepted.based_on is not None
    assert (accepted.based_on.name, accepted.based_on.version) == (SOP_NAME, 2)
    (current,) = (await planner.list_sops(USER)).sops
    assert (current.id, current.version, current.source_plan_id) == (accepted.based_on.id, 2, adapted.id)
    assert [(t.key, t.estimate_minutes) for t in current.tasks] == [
        ("t1", 30),
        ("t2", 60),
        ("t3", 45),
        ("t4", 30),
        ("t5", 30),
        ("t6", 60),
    ]
    # The next similar intent follows version 2.
    third = await plan(planner, "Launch the Q3 newsletter")
    assert third.based_on is not None
    assert (third.based_on.id, third.based_on.version) == (current.id, 2)
    assert [t.title for t in third.tasks][-1] == "Thank the readers"


async def test_an_unrelated_intent_is_not_matched(planner: PlannerEngineClient) -> None:
    await accept(planner, await plan(planner, "Launch the Q1 newsletter"))

    unrelated = await plan(planner, "Fix the login bug")

    assert unrelated.based_on is None
    assert unrelated.sop.summary == "fix playbook"
    # Nor is another user's library consulted.
    other = await planner.create_plan(PlanCreate(user_id="bob", intent="Launch the Q1 newsletter"))
    assert other.based_on is None


async def test_sop_id_forces_the_base(planner: PlannerEngineClient) -> None:
    sop = await planner.create_sop(
        SopCreate.model_validate(
            {
                "user_id": USER,
                "name": "incident",
                "title": "Incident response",
                "steps": [{"title": "Triage"}, {"title": "Mitigate"}, {"title": "Write the postmortem"}],
                "tasks": [
                    {"key": "triage", "title": "Triage", "estimate_minutes": 15, "priority": "urgent", "step": 1},
                    {"key": "mitigate", "title": "Mitigate", "estimate_minutes": 120, "depends_on": ["triage"]},
                    {"key": "pm", "title": "Postmortem", "estimate_minutes": 60, "depends_on": ["triage", "mitigate"]},
                ],
            }
        )
    )

    forced = await plan(planner, "Fix the login bug", sop_id=sop.id)

    assert forced.based_on is not None
    assert (forced.based_on.id, forced.based_on.name, forced.based_on.version) == (sop.id, "incident", 1)
    assert forced.sop.title == "Incident response"
    ids = {t.key: t.id for t in forced.tasks}
    assert [(t.key, t.title, t.estimate_minutes, t.priority, t.splittable) for t in forced.tasks] == [
        ("triage", "Triage", 15, "urgent", False),
        ("mitigate", "Mitigate", 120, "normal", True),
        ("pm", "Postmortem", 60, "normal", False),
    ]
    assert forced.tasks[2].depends_on == [ids["triage"], ids["mitigate"]]


async def test_an_sop_without_tasks_gets_one_task_per_step(planner: PlannerEngineClient) -> None:
    sop = await planner.create_sop(
        SopCreate.model_validate(
            {
                "user_id": USER,
                "name": "bake",
                "title": "Bake bread",
                "steps": [{"title": "Mix", "purpose": "Combine"}, {"title": "Prove"}, {"title": "Bake"}],
            }
        )
    )

    result = await plan(planner, "Bake a sourdough loaf", sop_id=sop.id)

    assert [(t.key, t.title, t.description, t.estimate_minutes, t.step) for t in result.tasks] == [
        ("t1", "Mix", "Combine", 60, 1),
        ("t2", "Prove", "", 60, 2),
        ("t3", "Bake", "", 60, 3),
    ]
    assert [t.depends_on for t in result.tasks] == [[], [result.tasks[0].id], [result.tasks[1].id]]


async def test_an_unknown_or_foreign_sop_id_is_a_404(planner: PlannerEngineClient) -> None:
    theirs = await planner.create_sop(
        SopCreate.model_validate({"user_id": "bob", "name": "x", "title": "X", "steps": [{"title": "Do X"}]})
    )
    for sop_id in (uuid4(), theirs.id):
        with pytest.raises(RemoteServiceError) as caught:
            await plan(planner, "Launch the Q1 newsletter", sop_id=sop_id)
        assert (caught.value.status_code, caught.value.details) == (404, {"sop_id": str(sop_id)})
    assert (await planner.list_plans(USER)).plans == []
