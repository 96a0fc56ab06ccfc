"""The offline planner over HTTP: no LLM key, memory-gateway and scheduler down.

Deterministic decomposition by playbook or explicit list, due phrases, deadlines and priorities from the
due date, deep-work splitting, the overload warning, estimates learnt from execution history, the
memory-down warning and idempotent creation.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx

from pma_core.clients import PlannerEngineClient
from pma_core.contracts.executions import ExecutionCreate
from pma_core.contracts.plans import PlanCreate, PlanRead

USER = "alice"
LAUNCH_TITLES = [
    "Define goal, audience and success measure for the Q1 newsletter",
    "Prepare the content and assets for the Q1 newsletter",
    "Review and test the Q1 newsletter",
    "Launch the Q1 newsletter",
    "Follow up on the Q1 newsletter and record results",
]
LAUNCH_MINUTES = [30, 120, 45, 30, 30]
GENERIC_MINUTES = [20, 30, 120, 30]


async def plan(planner: PlannerEngineClient, intent: str, **fields: object) -> PlanRead:
    return await planner.create_plan(PlanCreate.model_validate({"user_id": USER, "intent": intent, **fields}))


def assert_chained(result: PlanRead) -> None:
    """Each task depends on exactly the one before it (by id), the first on none."""
    ids = [task.id for task in result.tasks]
    assert [task.depends_on for task in result.tasks] == [[], *[[previous] for previous in ids[:-1]]]


def deadlines(result: PlanRead) -> list[datetime]:
    found = [task.deadline for task in result.tasks]
    assert all(deadline is not None for deadline in found)
    return [deadline for deadline in found if deadline is not None]


async def test_same_intent_gives_the_same_plan(planner: PlannerEngineClient) -> None:
    first = await plan(planner, "Write the quarterly report", context="for the board")
    second = await plan(planner, "Write the quarterly report", context="for the board")

    assert first.id != second.id
    assert first.sop == second.sop
    shape = [(t.key, t.title, t.estimate_minutes, t.tags, t.step, t.splittable) for t in first.tasks]
    assert shape == [(t.key, t.title, t.estimate_minutes, t.tags, t.step, t.splittable) for t in second.tasks]
    assert [t.title for t in first.tasks] == [
        "Outline the quarterly report",
        "Write the first draft of the quarterly report",
        "Edit and polish the quarterly report",
        "Deliver the quarterly report",
    ]


async def test_launch_intent_uses_the_launch_playbook_without_the_due_phrase(planner: PlannerEngineClient) -> None:
    result = await plan(planner, "Launch the Q1 newsletter by Friday")

    assert (result.planner, result.planned_offline, result.status, result.revision) == ("offline", True, "draft", 1)
    assert (result.model, result.prompt_template, result.based_on) == (None, None, None)
    assert result.sop.title == "Launch the Q1 newsletter"
    assert result.sop.summary == "launch playbook"
    assert [step.title for step in result.sop.steps] == LAUNCH_TITLES
    assert result.sop.steps[0].done_criteria == ["Goal, audience and one success metric written down"]
    assert [t.title for t in result.tasks] == LAUNCH_TITLES
    assert not any("friday" in t.title.lower() for t in result.tasks)
    assert [t.key for t in result.tasks] == ["t1", "t2", "t3", "t4", "t5"]
    assert [t.step for t in result.tasks] == [1, 2, 3, 4, 5]
    assert [t.position for t in result.tasks] == [0, 1, 2, 3, 4]
    assert [t.estimate_minutes for t in result.tasks] == LAUNCH_MINUTES
    assert result.tasks[0].tags == ["launch", "planning"]
    assert {t.status for t in result.tasks} == {"todo"}
    assert {t.source for t in result.tasks} == {"planner"}
    # "by Friday" becomes the plan's due date (17:00 UTC of the next Friday, today included), said in a note.
    assert result.due_at is not None
    assert (result.due_at.weekday(), result.due_at.hour) == (4, 17)
    assert (
        result.warnings[0]
        == f"due date read from the intent: {result.due_at.isoformat()} (send due_at to set it exactly)"
    )
    assert result.tasks[-1].deadline == result.due_at
    assert_chained(result)
    # The stored plan reads back the same.
    assert await planner.get_plan(USER, result.id) == result


async def test_without_a_due_date_there_are_no_deadlines_and_priority_is_normal(planner: PlannerEngineClient) -> None:
    result = await plan(planner, "Launch the Q1 newsletter")

    assert result.due_at is None
    assert {(t.deadline, t.priority) for t in result.tasks} == {(None, "normal")}


async def test_priority_rises_and_deadlines_spread_up_to_the_due_date(planner: PlannerEngineClient) -> None:
    for left, priority in (
        (timedelta(hours=12), "urgent"),
        (timedelta(days=2), "high"),
        (timedelta(days=10), "normal"),
    ):
        due_at = datetime.now(UTC) + left
        result = await plan(planner, "Launch the Q1 newsletter", due_at=due_at)

        assert result.due_at == due_at
        assert {t.priority for t in result.tasks} == {priority}, left
        spread = deadlines(result)
        assert spread == sorted(spread), left
        assert spread[-1] == due_at
        assert all(deadline <= due_at for deadline in spread)
        # Spread in proportion to the work before each task: t2 (cumulative 150 of 255 min) falls well
        # before the due date, t1 (30 of 255) before t2.
        assert spread[0] < spread[1] < spread[-1]
        assert not any("does not fit" in warning for warning in result.warnings)


async def test_work_that_does_not_fit_warns_and_keeps_deadlines_in_order(planner: PlannerEngineClient) -> None:
    due_at = datetime.now(UTC) + timedelta(hours=1)
    result = await plan(planner, "Launch the Q1 newsletter", due_at=due_at)

    assert [t.estimate_minutes for t in result.tasks] == LAUNCH_MINUTES  # 255 min in 60
    fit = [warning for warning in result.warnings if "does not fit" in warning]
    assert fit == ["the estimated work (4.2 h) does not fit before the due date; move the date or cut scope"]
    spread = deadlines(result)
    # A task never has to be done before the task it depends on.
    assert spread == sorted(spread)
    assert spread[-1] == due_at
    assert all(deadline <= due_at for deadline in spread)
    assert {t.priority for t in result.tasks} == {"urgent"}


async def test_a_list_in_the_context_becomes_one_task_per_item(planner: PlannerEngineClient) -> None:
    context = (
        "Agenda so far:\n- Book the venue\n* Send the invitations\n1. Order catering\n2) Print name badges\nThanks"
    )
    result = await plan(planner, "Organise the team offsite", context=context)

    items = ["Book the venue", "Send the invitations", "Order catering", "Print name badges"]
    assert [t.title for t in result.tasks] == items
    assert [step.title for step in result.sop.steps] == items
    assert result.sop.summary == "explicit playbook"
    assert result.sop.title == "Organise the team offsite"
    assert [t.estimate_minutes for t in result.tasks] == [60, 60, 60, 60]
    assert [t.tags for t in result.tasks] == [["explicit"]] * 4
    assert result.context == context
    assert_chained(result)


async def test_an_unknown_verb_gets_the_generic_playbook(planner: PlannerEngineClient) -> None:
    result = await plan(planner, "Tidy the garage")

    assert result.sop.summary == "generic playbook"
    assert [t.title for t in result.tasks] == [
        # The work itself is named with the intent's own verb (it was "Do the work: the garage").
        "Clarify what done means for the garage",
        "Gather what the garage needs",
        "Tidy the garage",
        "Check the garage is done and hand it over",
    ]
    assert [t.estimate_minutes for t in result.tasks] == GENERIC_MINUTES
    assert_chained(result)


async def test_tasks_over_ninety_minutes_are_splittable_in_half_hour_chunks(planner: PlannerEngineClient) -> None:
    result = await plan(planner, "Build the billing export")

    sized = [(t.title, t.estimate_minutes, t.splittable, t.min_chunk_minutes) for t in result.tasks]
    assert sized == [
        ("Specify the billing export", 45, False, None),
        ("Design the billing export", 60, False, None),
        ("Implement the billing export", 240, True, 30),
        ("Test the billing export", 90, False, None),  # exactly 90 is not deep work
        ("Release the billing export", 45, False, None),
    ]


async def _finished(
    planner: PlannerEngineClient, subject: str, estimated: int, actual: int, *, task_id: object = None
) -> None:
    started = datetime.now(UTC) - timedelta(hours=10)
    await planner.record_execution(
        ExecutionCreate.model_validate(
            {
                "user_id": USER,
                "task_id": task_id,
                "subject": subject,
                "status": "succeeded",
                "started_at": started,
                "finished_at": started + timedelta(minutes=actual),
                "estimated_minutes": estimated,
                "actual_minutes": actual,
            }
        )
    )


async def test_a_title_done_before_takes_the_median_of_its_actual_minutes(planner: PlannerEngineClient) -> None:
    first = await plan(planner, "Launch the Q1 newsletter")
    review = first.tasks[2]
    for actual in (50, 80):
        await _finished(planner, "", review.estimate_minutes, actual, task_id=review.id)

    again = await plan(planner, "Launch the Q1 newsletter")
    # Review (estimated 45) took 50 and 80: the median, 65. Two runs give no ratio, so the rest keep
    # their base estimates, and a task titled differently is not affected.
    assert [t.estimate_minutes for t in again.tasks] == [30, 120, 65, 30, 30]
    assert [t.splittable for t in again.tasks] == [False, True, False, False, False]
    other = await plan(planner, "Launch the Q2 podcast")
    assert [t.estimate_minutes for t in other.tasks] == LAUNCH_MINUTES
    # Titles compare without case or punctuation.
    await _finished(planner, "LAUNCH the q3 newsletter!", 30, 10)
    assert [t.estimate_minutes for t in (await plan(planner, "Launch the Q3 newsletter")).tasks][3] == 10


async def test_estimates_scale_by_tag_ratio_else_overall_ratio_after_three_runs(planner: PlannerEngineClient) -> None:
    assert (await planner.estimate_accuracy(USER)).model_dump() == {"runs": 0, "ratio": None, "by_tag": {}}
    launch = await plan(planner, "Launch the Q1 newsletter")
    # Two runs are not enough to learn from.
    for task in launch.tasks[:2]:
        await _finished(planner, "", task.estimate_minutes, task.estimate_minutes * 2, task_id=task.id)
    assert [t.estimate_minutes for t in (await plan(planner, "Tidy the garage")).tasks] == GENERIC_MINUTES
    accuracy = await planner.estimate_accuracy(USER)
    assert (accuracy.runs, accuracy.ratio, accuracy.by_tag) == (2, None, {})

    # A third launch task took twice its estimate too; three untagged runs took exactly theirs.
    await _finished(planner, "", launch.tasks[2].estimate_minutes, 90, task_id=launch.tasks[2].id)
    for subject in ("one", "two", "three"):
        await _finished(planner, f"chore {subject}", 20, 20)

    accuracy = await planner.estimate_accuracy(USER)
    assert (accuracy.runs, accuracy.ratio) == (6, 1.5)
    assert accuracy.by_tag == {"launch": 2.0}
    # A launch-tagged plan scales by the launch ratio (x2) ...
    podcast = await plan(planner, "Release the Q2 podcast")
    assert [t.estimate_minutes for t in podcast.tasks] == [m * 2 for m in LAUNCH_MINUTES]
    assert [t.splittable for t in podcast.tasks] == [False, True, False, False, False]
    # ... any other by the overall median (x1.5), rounded to 5 minutes.
    garage = await plan(planner, "Tidy the garage")
    assert [t.estimate_minutes for t in garage.tasks] == [30, 45, 180, 45]


async def test_memory_down_is_a_warning_not_a_failure(planner: PlannerEngineClient) -> None:
    result = await plan(planner, "Fix the login bug")

    assert result.recalled == []
    memory = [warning for warning in result.warnings if warning.startswith("memory-gateway unavailable")]
    assert len(memory) == 1
    assert memory[0].endswith("planned without recalled context")
    assert result.tasks[0].title == "Reproduce the login bug"


async def test_a_repeated_idempotency_key_returns_the_first_plan(planner: PlannerEngineClient) -> None:
    body = {"user_id": USER, "intent": "Launch the Q1 newsletter", "idempotency_key": "plan-42"}
    async with httpx.AsyncClient(base_url=planner.base_url, timeout=15) as http:
        first = await http.post("/v1/plans", json=body)
        again = await http.post("/v1/plans", json=body | {"intent": "Something else entirely"})
        by_header = await http.post(
            "/v1/plans", json={"user_id": USER, "intent": "Tidy"}, headers={"Idempotency-Key": "h-1"}
        )
        header_again = await http.post(
            "/v1/plans", json={"user_id": USER, "intent": "Tidy"}, headers={"Idempotency-Key": "h-1"}
        )
        other_user = await http.post("/v1/plans", json=body | {"user_id": "bob"})
        # The header and the body naming two keys: refused, not one silently preferred (docs/api.md).
        mismatch = await http.post("/v1/plans", json=body, headers={"Idempotency-Key": "plan-43"})

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    assert (by_header.status_code, header_again.status_code) == (201, 200)
    assert header_again.json()["id"] == by_header.json()["id"]
    # Keys are per user.
    assert other_user.status_code == 201
    assert other_user.json()["id"] != first.json()["id"]
    assert mismatch.status_code == 422
    assert mismatch.json()["error"]["details"][0]["type"] == "key_mismatch"
    plans = (await planner.list_plans(USER)).plans
    assert sorted(str(p.id) for p in plans) == sorted([first.json()["id"], by_header.json()["id"]])


async def test_named_deliverables_become_tasks_with_short_titles_and_the_due_date(
    planner: PlannerEngineClient,
) -> None:
    intent = (
        "Launch a paid newsletter tier for our 2,400 subscribers by the end of January, with a pricing page,"
        " a welcome email sequence and a Stripe integration"
    )
    result = await plan(planner, intent, constraints={"timezone": "Europe/Berlin"})

    berlin = ZoneInfo("Europe/Berlin")
    today = datetime.now(berlin).date()
    year = today.year if today < date(today.year, 1, 31) else today.year + 1
    due = datetime(year, 1, 31, 17, tzinfo=berlin)
    assert result.due_at == due
    assert f"due date read from the intent: {due.isoformat()}" in result.warnings[0]
    assert [t.title for t in result.tasks] == [
        "Define goal, audience and success measure for the paid newsletter tier",
        "Build the pricing page",
        "Write the welcome email sequence",
        "Set up the Stripe integration",
        "Review and test the paid newsletter tier",
        "Launch the paid newsletter tier",
        "Follow up on the paid newsletter tier and record results",
    ]
    assert all(len(t.title) <= 70 and "2,400" not in t.title for t in result.tasks)
    assert all("for our 2,400 subscribers" in t.description for t in result.tasks)
    ids = [t.id for t in result.tasks]
    # The three deliverables follow the goal; the review waits for all three; launch and follow-up after it.
    assert [t.depends_on for t in result.tasks] == [
        [], [ids[0]], [ids[0]], [ids[0]], [ids[1], ids[2], ids[3]], [ids[4]], [ids[5]]
    ]  # fmt: skip
    assert [t.estimate_minutes for t in result.tasks] == [30, 180, 180, 300, 45, 30, 30]
    assert result.tasks[-1].deadline == result.due_at
