"""The observer's insights reach the planner's estimates, and the plan says why (docs/planner.md, "Estimates").

The planner asks the memory-gateway stand-in for the user's active estimate-factor insights before
planning; the expected minutes are worked out here from a plan made without insights (base x factor,
rounded to 5), not by the planner's own estimate module.
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta

import pytest

from pma_core.clients import PlannerEngineClient
from pma_core.contracts.executions import ExecutionCreate
from pma_core.contracts.insights import EstimateFactorInsight
from pma_core.contracts.plans import PlanAccept, PlanCreate, PlanRead, PlanReplan

from .standin_memory import StandInMemory

USER = "insight-user"
BASELINE_USER = "no-insights-user"
INTENT = "Write the blog post about pricing"
WINDOW = "2026-11-23..2026-11-29"


def insight(tag: str, factor: float, *, samples: int = 5) -> EstimateFactorInsight:
    return EstimateFactorInsight(
        tag=tag,
        factor=factor,
        samples=samples,
        actual_minutes=round(factor * 60 * samples),
        estimated_minutes=60 * samples,
        window_from=date(2026, 11, 23),
        window_to=date(2026, 11, 29),
    )


def scaled(base: int, factor: float) -> int:
    return 5 * round(base * factor / 5)


async def plan(client: PlannerEngineClient, user_id: str = USER, **fields: object) -> PlanRead:
    return await client.create_plan(PlanCreate.model_validate({"user_id": user_id, "intent": INTENT, **fields}))


async def bases(client: PlannerEngineClient) -> dict[str, tuple[list[str], int]]:
    """(tags, estimate) of each task of the intent's plan for a user with no insights and no history."""
    return {task.title: (task.tags, task.estimate_minutes) for task in (await plan(client, BASELINE_USER)).tasks}


def entry(title: str, before: int, after: int) -> str:
    return f"'{title}' {before} -> {after} min"


async def test_an_insight_lengthens_the_tasks_of_its_tag_and_the_plan_says_why(
    planner_with_memory: PlannerEngineClient, memory: StandInMemory
) -> None:
    base = await bases(planner_with_memory)
    memory.remember_insight(USER, insight("writing", 2.0))  # superseded by the next finding of its slot
    memory.remember_insight(USER, insight("writing", 1.4))
    memory.remember(USER, "Prefers to write in the morning", kind="preference")

    made = await plan(planner_with_memory)

    writing = [title for title, (tags, _) in base.items() if "writing" in tags]
    assert len(writing) == 2
    assert len(base) > len(writing)
    expected = {title: scaled(minutes, 1.4) if title in writing else minutes for title, (_, minutes) in base.items()}
    assert {task.title: task.estimate_minutes for task in made.tasks} == expected
    assert expected[writing[0]] != base[writing[0]][1]
    assert made.estimate_notes == [
        f"writing x1.40 (observer insight, 5 runs {WINDOW}): "
        + ", ".join(entry(title, base[title][1], expected[title]) for title in writing)
    ]
    # The insight reached the estimates, not the recalled memories; nothing degraded.
    assert [r.text for r in made.recalled] == ["Prefers to write in the morning"]
    assert made.warnings == []
    # One recall asked for exactly the active estimate-factor insights.
    [asked] = memory.insight_recalls(USER)
    assert (asked.user_id, asked.query, asked.limit) == (USER, INTENT, 50)
    assert (asked.filters.kinds, asked.filters.sources) == (["observation"], ["observer-agent"])
    # Read later, the plan still says why.
    assert (await planner_with_memory.get_plan(USER, made.id)).estimate_notes == made.estimate_notes


async def test_a_known_title_still_wins_over_an_insight(
    planner_with_memory: PlannerEngineClient, memory: StandInMemory
) -> None:
    base = await bases(planner_with_memory)
    edit = next(title for title, (tags, _) in base.items() if {"writing", "review"} <= set(tags))
    draft = next(title for title, (tags, _) in base.items() if "writing" in tags and title != edit)
    started = datetime.now(UTC) - timedelta(hours=2)
    await planner_with_memory.record_execution(
        ExecutionCreate(
            user_id=USER, subject=edit, status="succeeded", started_at=started,
            finished_at=started + timedelta(minutes=50), estimated_minutes=base[edit][1], actual_minutes=50,
        )
    )  # fmt: skip
    memory.remember_insight(USER, insight("writing", 1.4))

    made = await plan(planner_with_memory)

    minutes = {task.title: task.estimate_minutes for task in made.tasks}
    assert minutes[edit] == 50  # the median of its own runs, not 60 x 1.4
    assert minutes[draft] == scaled(base[draft][1], 1.4)
    assert made.estimate_notes == [
        f"writing x1.40 (observer insight, 5 runs {WINDOW}): {entry(draft, base[draft][1], minutes[draft])}",
        f"known titles (history: median actual minutes of their past runs): {entry(edit, base[edit][1], 50)}",
    ]


async def test_a_task_with_two_insight_tags_takes_the_median_factor(
    planner_with_memory: PlannerEngineClient, memory: StandInMemory
) -> None:
    base = await bases(planner_with_memory)
    memory.remember_insight(USER, insight("writing", 1.4))
    memory.remember_insight(USER, insight("review", 1.2, samples=6))

    made = await plan(planner_with_memory)

    edit = next(title for title, (tags, _) in base.items() if {"writing", "review"} <= set(tags))
    minutes = {task.title: task.estimate_minutes for task in made.tasks}
    assert minutes[edit] == scaled(base[edit][1], 1.3)
    review_note, writing_note = made.estimate_notes
    assert review_note == (
        f"review x1.20 (observer insight, 6 runs {WINDOW}): "
        f"{entry(edit, base[edit][1], minutes[edit])} (median with writing x1.40)"
    )
    assert writing_note.startswith(f"writing x1.40 (observer insight, 5 runs {WINDOW}): ")
    assert f"{entry(edit, base[edit][1], minutes[edit])} (median with review x1.20)" in writing_note


async def test_an_insight_whose_metadata_does_not_parse_is_ignored_and_logged(
    planner_with_memory: PlannerEngineClient, memory: StandInMemory, caplog: pytest.LogCaptureFixture
) -> None:
    base = await bases(planner_with_memory)
    good = insight("review", 1.2).model_dump(mode="json")
    bad = memory.remember(
        USER, "writing tasks take ages", kind="observation", source="observer-agent",
        metadata={**good, "tag": "writing", "factor": "lots"},
    )  # fmt: skip
    too_few = memory.remember(
        USER, "writing tasks take x2.00", kind="observation", source="observer-agent",
        metadata={**good, "tag": "writing", "factor": 2.0, "samples": 2},
    )  # fmt: skip
    memory.remember_insight(USER, insight("review", 1.2))

    with caplog.at_level(logging.WARNING, logger="planner_engine.adapters.memory"):
        made = await plan(planner_with_memory)

    edit = next(title for title, (tags, _) in base.items() if "review" in tags)
    expected = {title: scaled(minutes, 1.2) if title == edit else minutes for title, (_, minutes) in base.items()}
    assert {task.title: task.estimate_minutes for task in made.tasks} == expected
    assert [note.split(" (")[0] for note in made.estimate_notes] == ["review x1.20"]
    assert made.warnings == []
    logged = [r.getMessage() for r in caplog.records if r.name == "planner_engine.adapters.memory"]
    assert any(str(bad.id) in line and "factor" in line for line in logged)
    assert any(str(too_few.id) in line and "samples" in line for line in logged)


async def test_with_the_gateway_failing_the_plan_is_made_without_insights_and_says_so(
    planner_with_memory: PlannerEngineClient, memory: StandInMemory
) -> None:
    base = await bases(planner_with_memory)
    memory.remember_insight(USER, insight("writing", 1.4))
    memory.failing = True

    made = await plan(planner_with_memory)

    assert {task.title: task.estimate_minutes for task in made.tasks} == {t: m for t, (_, m) in base.items()}
    assert made.estimate_notes == []
    [warning] = made.warnings
    assert warning.startswith("memory-gateway unavailable (")
    assert warning.endswith("planned without recalled context")


async def test_a_recall_by_words_only_is_said_in_the_plans_warnings(
    planner_with_memory: PlannerEngineClient, memory: StandInMemory
) -> None:
    memory.lexical_only = True  # the gateway's Qdrant is down: insights sharing no word with the intent are missed

    made = await plan(planner_with_memory)

    assert [warning for warning in made.warnings if "vector search" in warning] == [
        "memory-gateway's vector search failed: context recalled by matching words only"
    ]


async def test_with_the_gateway_down_the_plan_is_made_without_insights_and_says_so(
    planner: PlannerEngineClient,
) -> None:
    made = await plan(planner)

    assert made.estimate_notes == []
    assert made.recalled == []
    [warning] = made.warnings
    assert warning.startswith("memory-gateway unavailable (memory-gateway is unreachable at ")


async def test_a_replan_keeps_the_notes_of_the_tasks_it_left_alone(
    planner_with_memory: PlannerEngineClient, memory: StandInMemory
) -> None:
    memory.remember_insight(USER, insight("writing", 1.4))
    made = await plan(planner_with_memory)
    [note] = made.estimate_notes
    writing = [task for task in made.tasks if "writing" in task.tags]
    assert all(f"'{task.title}' " in note for task in writing)

    replanned = await planner_with_memory.replan(
        made.id, PlanReplan(user_id=USER, feedback=f"{writing[1].key}: 3 h; add Share it on LinkedIn")
    )

    [kept] = replanned.estimate_notes
    assert f"'{writing[0].title}' " in kept
    assert f"'{writing[1].title}' " not in kept  # re-estimated by the user: the insight no longer set it
    assert kept == note[: note.index(f", '{writing[1].title}' ")]
    assert (await planner_with_memory.get_plan(USER, made.id)).estimate_notes == [kept]


async def test_a_plan_adapting_a_saved_sop_is_not_scaled_by_an_insight_twice(
    planner_with_memory: PlannerEngineClient, memory: StandInMemory
) -> None:
    memory.remember_insight(USER, insight("writing", 1.4))
    first = await plan(planner_with_memory)
    accepted = await planner_with_memory.accept_plan(first.id, PlanAccept(user_id=USER))
    assert accepted.based_on is not None

    adapted = await plan(planner_with_memory, sop_id=str(accepted.based_on.id))

    # The saved SOP's estimates already carry the insight; only a known title would change them.
    assert [t.estimate_minutes for t in adapted.tasks] == [t.estimate_minutes for t in first.tasks]
    assert adapted.estimate_notes == []
