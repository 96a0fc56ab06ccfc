"""A day's metrics from recorded activity, each expected figure worked out by hand from the records."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from observer_agent.domain.daily import daily_metrics
from observer_agent.domain.models import Span
from observer_agent.domain.narrative import daily_narrative
from pma_core.contracts.reflections import CarryOver, DailyMetrics

from .builders import activity, at, block, run, task

MONDAY = date(2026, 11, 30)
FRIDAY = date(2026, 11, 27)


def _monday() -> tuple[object, dict[str, object]]:
    write = task("Write post", tags=["writing"], status="done", completed_at=at(MONDAY, "11:00"))
    review = task("Review PR", tags=["review"])
    email = task("Email", status="done", completed_at=at(MONDAY, "16:20"))
    due = task("Send invoice", deadline=at(MONDAY, "12:00"))
    records = activity(
        MONDAY,
        tasks=[write, review, email, due],
        blocks=[block(write.id, at(MONDAY, "09:00"), 90), block(review.id, at(MONDAY, "14:00"), 60)],
        runs=[
            run(write.id, at(MONDAY, "09:00"), 120, estimated=90),
            run(email.id, at(MONDAY, "16:00"), 20, estimated=15),
            run(None, at(MONDAY, "17:30"), 30, kind="agent"),
        ],
        busy=[Span(at(MONDAY, "13:00"), at(MONDAY, "14:00")), Span(at(MONDAY, "18:00"), at(MONDAY, "19:00"))],
    )
    return records, {"write": write, "review": review, "email": email, "due": due}


def _friday(review_id: object, *, rolled: int, done_streak: int, work_streak: int) -> DailyMetrics:
    records, _ = _monday()
    base = daily_metrics(records, MONDAY, {})  # type: ignore[arg-type]
    return base.model_copy(
        update={
            "date": FRIDAY,
            "carry_overs": [CarryOver(task_id=review_id, title="Review PR", times_rolled=rolled)],  # type: ignore[arg-type]
            "done_streak": done_streak,
            "work_streak": work_streak,
        }
    )


def test_figures_of_a_day() -> None:
    records, _ = _monday()
    metrics = daily_metrics(records, MONDAY, {})  # type: ignore[arg-type]
    assert (metrics.tasks_planned, metrics.tasks_done, metrics.tasks_done_unplanned) == (2, 1, 1)
    assert (metrics.planned_minutes, metrics.actual_minutes, metrics.focus_minutes) == (150, 170, 120)
    assert metrics.unplanned_minutes == 50  # the email (no block) and the agent run (no task)
    assert metrics.meeting_minutes == 120  # both meetings; only the one in working hours counts for the share
    assert metrics.meeting_share == round(60 / 420, 3)  # 9-17 less lunch = 420 working minutes
    assert metrics.capacity_minutes == 360  # 420 - 60 of meetings = 360, the default focus cap
    assert metrics.planned_load == round(150 / 360, 3)
    assert metrics.estimate_accuracy.ratio == round((120 + 20) / (90 + 15), 3)
    assert metrics.estimate_accuracy.samples == 2
    assert metrics.accuracy_by_tag["writing"].ratio == round(120 / 90, 3)
    assert metrics.finished_at == at(MONDAY, "18:00")
    assert metrics.planned_end == at(MONDAY, "17:00")
    assert metrics.finish_delta_minutes == 60


def test_carry_overs_slips_and_streaks_continue_from_the_last_working_day() -> None:
    records, made = _monday()
    friday = _friday(made["review"].id, rolled=2, done_streak=4, work_streak=4)  # type: ignore[attr-defined]
    metrics = daily_metrics(records, MONDAY, {FRIDAY: friday})  # type: ignore[arg-type]
    assert [(c.title, c.times_rolled) for c in metrics.carry_overs] == [("Review PR", 3)]
    assert [s.title for s in metrics.slipped_deadlines] == ["Send invoice"]
    assert (metrics.done_streak, metrics.work_streak) == (0, 5)  # one task left undone; work was recorded


def test_a_missing_reflection_of_the_last_working_day_restarts_the_chain() -> None:
    records, made = _monday()
    older = _friday(made["review"].id, rolled=2, done_streak=4, work_streak=4)  # type: ignore[attr-defined]
    metrics = daily_metrics(records, MONDAY, {FRIDAY - timedelta(days=1): older})  # type: ignore[arg-type]
    assert [c.times_rolled for c in metrics.carry_overs] == [1]
    assert metrics.work_streak == 1


def test_the_same_weekday_last_week_gives_the_change() -> None:
    records, _made = _monday()
    last_monday = daily_metrics(records, MONDAY, {}).model_copy(  # type: ignore[arg-type]
        update={"date": MONDAY - timedelta(days=7), "tasks_done": 3, "actual_minutes": 100}
    )
    metrics = daily_metrics(records, MONDAY, {MONDAY - timedelta(days=7): last_monday})  # type: ignore[arg-type]
    assert metrics.vs_last_week is not None
    assert metrics.vs_last_week["tasks_done"] == 1 - 3
    assert metrics.vs_last_week["actual_minutes"] == 170 - 100


def test_an_empty_day_is_an_honest_reflection() -> None:
    metrics = daily_metrics(activity(MONDAY), MONDAY, {})
    assert (metrics.tasks_planned, metrics.actual_minutes, metrics.estimate_accuracy.ratio) == (0, 0, None)
    narrative = daily_narrative(metrics)
    assert "nothing was planned or recorded" in narrative.summary
    assert len(narrative.suggestions) == 1


def test_a_day_off_has_no_capacity_and_keeps_the_streak() -> None:
    saturday = date(2026, 11, 28)
    friday = daily_metrics(activity(FRIDAY), FRIDAY, {}).model_copy(update={"done_streak": 2, "work_streak": 3})
    metrics = daily_metrics(activity(saturday), saturday, {FRIDAY: friday})
    assert (metrics.working_day, metrics.capacity_minutes, metrics.planned_load) == (False, 0, None)
    assert (metrics.done_streak, metrics.work_streak) == (2, 3)


def test_a_dst_day_is_25_hours_long() -> None:
    autumn = date(2026, 10, 25)  # Berlin leaves summer time at 03:00
    late = task("Late", status="done", completed_at=at(autumn, "23:30"))
    metrics = daily_metrics(activity(autumn, tasks=[late], runs=[run(late.id, at(autumn, "23:00"), 20)]), autumn, {})
    assert metrics.actual_minutes == 20


@pytest.mark.parametrize("rolled", [2, 3])
def test_the_offline_narrative_cites_its_evidence(rolled: int) -> None:
    records, made = _monday()
    friday = _friday(made["review"].id, rolled=rolled, done_streak=0, work_streak=1)  # type: ignore[attr-defined]
    narrative = daily_narrative(daily_metrics(records, MONDAY, {FRIDAY: friday}))  # type: ignore[arg-type]
    first = narrative.suggestions[0]
    assert "Review PR" in first.text
    assert f"{rolled + 1} times" in first.evidence
    assert narrative.change_for_tomorrow == first.text
    assert "1 deadlines slipped" in " ".join(narrative.blockers)
    assert all(s.evidence for s in narrative.suggestions)
    assert len(narrative.suggestions) <= 3
