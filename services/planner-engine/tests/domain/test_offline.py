"""offline.py and playbooks.py: reading an intent (verb, object, due phrase, lists), playbooks, and the
deadline window, without a server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from planner_engine.domain.acceptance import slug
from planner_engine.domain.estimates import EstimateProfile
from planner_engine.domain.offline import (
    PlanningInput,
    explicit_steps,
    headline,
    plan_from_intent,
    priority_for,
    schedule_window,
    sized_fields,
    split_intent,
)
from planner_engine.domain.playbooks import GENERIC, choose_playbook, pick_playbook
from pma_core.contracts.tasks import TaskSpec

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def given(intent: str, *, context: str = "", due_at: datetime | None = None) -> PlanningInput:
    return PlanningInput(intent=intent, context=context, due_at=due_at, now=NOW, profile=EstimateProfile())


@pytest.mark.parametrize(
    ("intent", "expected"),
    [
        ("Launch the Q1 newsletter by Friday", ("launch", "the Q1 newsletter")),
        ("Fix the login bug before 2026-03-10.", ("fix", "the login bug")),
        ("write the annual report by end of the month!", ("write", "the annual report")),
        ("Organise the offsite on 3rd April", ("organise", "the offsite")),
        ("Ship the app by next week", ("ship", "the app")),
        ("Study Rust until tomorrow", ("study", "Rust")),
        ("Plan the party due today", ("plan", "the party")),
        ("Build a shed\n- buy wood\n- saw", ("build", "a shed")),
        ("Review", ("review", "Review")),
        ("Launch the product on Mars", ("launch", "the product on Mars")),  # 'on Mars' is no date
        ("Don't forget the milk", ("don't", "forget the milk")),
    ],
)
def test_split_intent(intent: str, expected: tuple[str, str]) -> None:
    assert split_intent(intent) == expected


def test_headline_is_the_first_line_without_its_due_phrase() -> None:
    assert headline("launch the Q1 newsletter by Friday!") == "Launch the Q1 newsletter"
    assert headline("  Fix the bug\nmore detail") == "Fix the bug"
    assert headline("x" * 300) == "X" + "x" * 199
    assert headline("by Friday") == "By Friday"


def test_explicit_steps_are_the_list_items_in_order() -> None:
    text = "Intro line\n- first\n  * second  \n3. third\n4) fourth\n\u2022 fifth\n-not an item\n5.no space\nOutro"
    assert explicit_steps(text) == ["first", "second", "third", "fourth", "fifth"]
    assert explicit_steps("no list here") == []


def test_the_first_verb_picks_the_playbook() -> None:
    picked = {verb: pick_playbook(verb).name for verb in ("launch", "draft", "debug", "automate", "research", "host")}
    assert picked == {
        "launch": "launch",
        "draft": "write",
        "debug": "fix",
        "automate": "build",
        "research": "learn",
        "host": "organise",
    }
    assert pick_playbook("tidy") is GENERIC
    assert pick_playbook("") is GENERIC


def test_a_list_in_the_intent_beats_one_in_the_context() -> None:
    draft = plan_from_intent(given("Move house:\n- pack\n- drive", context="- ignored")).draft
    assert [t.title for t in draft.tasks] == ["pack", "drive"]
    assert draft.sop.title == "Move house:"
    only_context = plan_from_intent(given("Move house", context="1. pack\n2. drive\n3. unpack")).draft
    assert [(t.key, t.title, t.depends_on) for t in only_context.tasks] == [
        ("t1", "pack", []),
        ("t2", "drive", ["t1"]),
        ("t3", "unpack", ["t2"]),
    ]
    # At most 30 steps (an SOP's limit).
    many = plan_from_intent(given("Do chores", context="\n".join(f"- chore {i}" for i in range(40)))).draft
    assert len(many.tasks) == 30


def test_sizing() -> None:
    assert sized_fields(90) == {"estimate_minutes": 90, "splittable": False, "min_chunk_minutes": None}
    assert sized_fields(95) == {"estimate_minutes": 95, "splittable": True, "min_chunk_minutes": 30}


def test_priority_for_the_time_left() -> None:
    assert priority_for(None, NOW) == "normal"
    assert priority_for(NOW + timedelta(hours=24), NOW) == "urgent"
    assert priority_for(NOW + timedelta(hours=25), NOW) == "high"
    assert priority_for(NOW + timedelta(days=3), NOW) == "high"
    assert priority_for(NOW + timedelta(days=3, seconds=1), NOW) == "normal"


def specs(*minutes: int) -> list[TaskSpec]:
    return [TaskSpec(key=f"t{i}", title=f"T{i}", estimate_minutes=m) for i, m in enumerate(minutes, start=1)]


def test_deadlines_are_spread_in_proportion_to_the_work() -> None:
    due = NOW + timedelta(days=10)
    placed = schedule_window(specs(60, 180, 60), given("x", due_at=due))

    assert [t.deadline for t in placed] == [NOW + timedelta(days=2), NOW + timedelta(days=8), due]
    assert {t.priority for t in placed} == {"normal"}
    assert schedule_window(specs(60), given("x")) == specs(60)


def test_deadlines_never_go_backwards_when_time_is_short() -> None:
    due = NOW + timedelta(hours=1)
    placed = schedule_window(specs(30, 120, 45, 30, 30), given("x", due_at=due))

    deadlines = [t.deadline for t in placed]
    # t1 keeps its own length (30 min); t2 cannot fit, so it gets the due date, and so does all after it.
    assert deadlines == [NOW + timedelta(minutes=30), due, due, due, due]
    assert {t.priority for t in placed} == {"urgent"}


def test_a_due_date_just_past_puts_every_deadline_at_or_after_it() -> None:
    due = NOW - timedelta(minutes=2)  # allowed by the contract's clock skew
    placed = schedule_window(specs(30, 30), given("x", due_at=due))
    assert [t.deadline for t in placed] == [NOW, NOW]


def test_same_input_same_draft() -> None:
    first = plan_from_intent(given("Research vector databases", due_at=NOW + timedelta(days=2))).draft
    assert first == plan_from_intent(given("Research vector databases", due_at=NOW + timedelta(days=2))).draft
    assert [t.title for t in first.tasks] == [
        "Frame the questions about vector databases",
        "Gather sources on vector databases",
        "Study vector databases",
        "Summarise what you learned about vector databases",
    ]
    assert [t.tags for t in first.tasks] == [
        ["learn", "planning"],
        ["learn", "research"],
        ["learn", "deep-work", "research"],
        ["learn", "writing"],
    ]


def test_slug_names_a_saved_sop() -> None:
    assert slug("Launch the Q1 newsletter!") == "launch-the-q1-newsletter"
    assert slug("!!!") == "sop"
    assert len(slug("word " * 40)) <= 60
    assert not slug("word " * 40).endswith("-")


@pytest.mark.parametrize(
    ("verb", "goal", "expected"),
    [
        ("hire", "a senior backend engineer", "hire"),
        ("migrate", "the CRM", "migrate"),
        ("onboard", "Acme", "onboard"),
        ("prepare", "the board meeting", "meeting"),
        ("prepare", "my talk for PyCon", "meeting"),
        ("plan", "a trip to Japan", "trip"),
        ("set", "a weekly review routine", "routine"),
        ("automate", "the monthly invoicing", "build"),
        ("plan", "the holiday party", "organise"),
        ("fix", "the weekly report job", "fix"),
        ("tidy", "the garage", "generic"),
    ],
)
def test_the_goal_or_the_verb_picks_the_playbook(verb: str, goal: str, expected: str) -> None:
    assert choose_playbook(verb, goal).name == expected


def test_deliverables_are_sized_by_kind_and_scaled_by_history() -> None:
    intent = "Launch the course with a landing page, three videos and a quick FAQ"
    plain = plan_from_intent(given(intent)).draft
    assert [(t.title, t.estimate_minutes) for t in plain.tasks][1:4] == [
        ("Build the landing page", 180),
        ("Record three videos", 325),  # 180 x 3 x 0.6
        ("Write the quick FAQ", 60),  # a quick one: half of 120
    ]
    history = EstimateProfile(runs=9, ratio=1.5, by_tag={"coding": 2.0})
    scaled = plan_from_intent(PlanningInput(intent, "", None, NOW, history)).draft
    assert [t.estimate_minutes for t in scaled.tasks][1:4] == [270, 485, 90]
    stripe = plan_from_intent(PlanningInput("Build the shop with a Stripe integration", "", None, NOW, history)).draft
    assert [(t.title, t.estimate_minutes) for t in stripe.tasks][1] == ("Set up the Stripe integration", 600)


def test_titles_stay_short_and_qualifiers_go_to_the_description() -> None:
    draft = plan_from_intent(
        given("Define the onboarding programme for the forty new sales engineers joining the EMEA team in spring")
    ).draft
    assert all(len(t.title) <= 70 for t in draft.tasks)
    assert not any("forty" in t.title for t in draft.tasks)
    assert all("for the forty new sales engineers" in t.description for t in draft.tasks)


@pytest.mark.parametrize(
    "intent", ["Make {obj} with {verb}, and {}", "- {verb}\n- :", "in : 2,400 fix and - launch -", "x" * 2000, "and"]
)
def test_odd_intents_still_give_a_valid_plan(intent: str) -> None:
    draft = plan_from_intent(given(intent)).draft
    assert draft.tasks
    assert all(0 < len(t.title) <= 200 for t in draft.tasks)
