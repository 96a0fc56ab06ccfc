"""estimate_notes.py: a plan's notes on the insights and history that set its estimates, and how a replan
keeps them true of the new revision."""

from __future__ import annotations

from datetime import UTC, date, datetime

from planner_engine.domain.estimate_notes import estimate_notes, notes_after_replan, prompt_notes
from planner_engine.domain.estimates import Estimate, EstimateProfile
from planner_engine.domain.offline import PlanningInput, plan_from_intent
from pma_core.contracts.insights import EstimateFactorInsight
from pma_core.contracts.tasks import TaskSpec

WINDOW = "2026-11-23..2026-11-29"


def insight(tag: str, factor: float, samples: int = 5) -> EstimateFactorInsight:
    return EstimateFactorInsight(
        tag=tag,
        factor=factor,
        samples=samples,
        actual_minutes=round(300 * factor),
        estimated_minutes=300,
        window_from=date(2026, 11, 23),
        window_to=date(2026, 11, 29),
    )


PROFILE = EstimateProfile(
    runs=4,
    ratio=1.3,
    by_tag={"planning": 1.5},
    by_title={"deliver it": 25},
    insights={"writing": insight("writing", 1.4), "review": insight("review", 1.2, samples=6)},
)


def task(key: str, title: str, minutes: int) -> TaskSpec:
    return TaskSpec(key=key, title=title, estimate_minutes=minutes)


def test_one_note_per_insight_and_history_figure_naming_the_tasks_it_set() -> None:
    estimated = [
        ("Outline it", Estimate(30, 45, "tag", ("planning",))),
        ("Draft it", Estimate(60, 85, "insight", ("writing",))),
        ("Edit it", Estimate(60, 80, "insight", ("writing", "review"))),
        ("Deliver it", Estimate(20, 25, "title")),
        ("Announce it", Estimate(20, 25, "overall")),
        ("Tidy up", Estimate(30, 30, "overall")),  # unchanged: no history note names it
        ("Rest", Estimate(15, 15, "base")),
    ]

    assert estimate_notes(estimated, PROFILE) == [
        f"review x1.20 (observer insight, 6 runs {WINDOW}): 'Edit it' 60 -> 80 min (median with writing x1.40)",
        f"writing x1.40 (observer insight, 5 runs {WINDOW}): 'Draft it' 60 -> 85 min,"
        " 'Edit it' 60 -> 80 min (median with review x1.20)",
        "planning x1.50 (history: median of the user's runs with this tag): 'Outline it' 30 -> 45 min",
        "all work x1.30 (history: median of 4 finished runs): 'Announce it' 20 -> 25 min",
        "known titles (history: median actual minutes of their past runs): 'Deliver it' 20 -> 25 min",
    ]
    # Nothing set by an insight or the history: no notes.
    assert estimate_notes([("Rest", Estimate(15, 15, "base"))], PROFILE) == []
    # An LLM plan: the insights its prompt carried.
    told = "given to the LLM in its prompt; the estimates are the LLM's"
    assert prompt_notes(PROFILE) == [
        f"review x1.20 (observer insight, 6 runs {WINDOW}): {told}",
        f"writing x1.40 (observer insight, 5 runs {WINDOW}): {told}",
    ]


def test_an_offline_plan_carries_how_each_estimate_was_reached() -> None:
    given = PlanningInput("Write the blog post about pricing", "", None, datetime(2026, 12, 1, tzinfo=UTC), PROFILE)
    made = plan_from_intent(given)

    assert [(task.title, task.estimate_minutes) for task in made.draft.tasks] == [
        (title, how.minutes) for title, how in made.estimates
    ]
    notes = estimate_notes(made.estimates, PROFILE)
    assert notes[1] == (
        f"writing x1.40 (observer insight, 5 runs {WINDOW}):"
        " 'Write the first draft of the blog post about pricing' 120 -> 170 min,"
        " 'Edit and polish the blog post about pricing' 60 -> 80 min (median with review x1.20)"
    )


def test_a_replan_keeps_the_entries_of_tasks_it_left_alone() -> None:
    before = [task("t1", "Draft it", 85), task("t2", "Edit it", 80), task("t3", "Draft it", 85)]
    notes = [
        f"writing x1.40 (observer insight, 5 runs {WINDOW}): 'Draft it' 60 -> 85 min,"
        " 'Edit it' 60 -> 80 min (median with review x1.20), 'Draft it' 60 -> 85 min",
        f"review x1.20 (observer insight, 6 runs {WINDOW}): 'Edit it' 60 -> 80 min (median with writing x1.40)",
        f"admin x0.80 (observer insight, 5 runs {WINDOW}): given to the LLM in its prompt; the estimates are the LLM's",
    ]

    # t2 re-estimated, t3 removed, a task added: t1's entry stays, the review note goes (it named t2 only).
    after = [task("t1", "Draft it", 85), task("t2", "Edit it", 120), task("t4", "Publish", 20)]
    assert notes_after_replan(notes, before=before, after=after) == [
        f"writing x1.40 (observer insight, 5 runs {WINDOW}): 'Draft it' 60 -> 85 min",
        notes[2],
    ]
    # Nothing changed: the notes stand as they were.
    assert notes_after_replan(notes, before=before, after=before) == notes
    # A task renamed (same key and estimate) is no longer the task the note named.
    renamed = [task("t1", "Draft the post", 85), *before[1:]]
    assert notes_after_replan(notes[:1], before=before, after=renamed) == [
        f"writing x1.40 (observer insight, 5 runs {WINDOW}): 'Edit it' 60 -> 80 min (median with review x1.20),"
        " 'Draft it' 60 -> 85 min"
    ]
