"""A week's metrics and the insights a window of work supports, expectations computed from the records."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from observer_agent.domain.insights import derive, describe, estimate_factors, low_output_hours
from observer_agent.domain.periods import checked_day, checked_week, week_days
from observer_agent.domain.weekly import weekly_metrics
from pma_core.contracts.insights import EstimateFactorInsight, LowOutputHoursInsight, insight_key
from pma_core.errors import ValidationFailedError

from .builders import BERLIN, activity, at, block, run, task

WEEK = "2026-W48"  # Monday 23 to Sunday 29 November 2026
DAYS = week_days(WEEK)
AFTER = datetime(2026, 12, 1, tzinfo=UTC)


def test_week_days_and_iso_week_rules() -> None:
    assert (DAYS[0], DAYS[-1]) == (date(2026, 11, 23), date(2026, 11, 29))
    assert week_days("2026-W53")[0] == date(2026, 12, 28)  # 2026 has 53 ISO weeks
    with pytest.raises(ValueError, match=r"ISO weeks 1\.\.52"):
        week_days("2025-W53")


def test_future_dates_and_weeks_are_refused_in_the_users_zone() -> None:
    now = datetime(2026, 11, 30, 23, 30, tzinfo=UTC)  # already 1 December in Berlin
    assert checked_day(None, now=now, zone=BERLIN) == date(2026, 11, 30)
    assert checked_day(date(2026, 12, 1), now=now, zone=BERLIN) == date(2026, 12, 1)  # their today is allowed
    assert checked_day(None, now=now, zone=BERLIN, default="today") == date(2026, 12, 1)  # the evening cron's
    with pytest.raises(ValidationFailedError, match="in the future"):
        checked_day(date(2026, 12, 2), now=now, zone=BERLIN)
    assert checked_week(None, now=now, zone=BERLIN) == "2026-W49"
    with pytest.raises(ValidationFailedError, match="has not begun"):
        checked_week("2026-W50", now=now, zone=BERLIN)


def _week_of_writing(overrun: float) -> tuple[object, list[object]]:
    tasks, blocks, runs = [], [], []
    for index, day in enumerate(DAYS[:5]):
        writing = task(f"Draft {index}", tags=["writing"], status="done", completed_at=at(day, "12:00"))
        tasks.append(writing)
        blocks.append(block(writing.id, at(day, "09:00"), 60))
        runs.append(run(writing.id, at(day, "09:00"), round(60 * overrun), estimated=60))
    return activity(DAYS[0] - timedelta(days=21), DAYS[-1], tasks=tasks, blocks=blocks, runs=runs), tasks


def test_weekly_totals_and_the_trend_against_the_week_before() -> None:
    records, _ = _week_of_writing(1.4)
    metrics = weekly_metrics(records, WEEK, "2026-W47")  # type: ignore[arg-type]
    assert [d.planned_minutes for d in metrics.days] == [60] * 5 + [0, 0]
    assert [d.actual_minutes for d in metrics.days] == [84] * 5 + [0, 0]
    assert (metrics.totals.tasks_planned, metrics.totals.tasks_done) == (5, 5)
    assert metrics.totals.estimate_accuracy.ratio == round(420 / 300, 3)
    assert metrics.previous_totals is not None
    assert metrics.previous_totals.actual_minutes == 0
    assert metrics.trends["actual_minutes"] == 420
    assert metrics.totals.capacity_minutes == 5 * 360


def test_an_overrunning_tag_becomes_an_estimate_factor() -> None:
    records, _ = _week_of_writing(1.4)
    [insight] = estimate_factors(records, DAYS[0], DAYS[-1])  # type: ignore[arg-type]
    assert (insight.tag, insight.factor, insight.samples) == ("writing", 1.4, 5)
    assert (insight.actual_minutes, insight.estimated_minutes) == (420, 300)
    assert insight_key(insight) == "insight.estimate_factor.writing"
    assert "x1.40" in describe(insight)


def test_fewer_than_five_runs_or_estimates_that_hold_make_no_finding() -> None:
    records, _ = _week_of_writing(1.05)
    assert estimate_factors(records, DAYS[0], DAYS[-1]) == []  # type: ignore[arg-type]
    # ... unless it replaces an earlier finding of that tag: the work now fits its estimates.
    [update] = estimate_factors(records, DAYS[0], DAYS[-1], known_tags={"writing"})  # type: ignore[arg-type]
    assert update.factor == 1.05
    few, _ = _week_of_writing(2.0)
    assert estimate_factors(few, DAYS[1], DAYS[4]) == []  # type: ignore[arg-type]  # four runs


def test_mornings_that_see_no_work_are_found() -> None:
    tasks, blocks, runs = [], [], []
    for day in DAYS[:5]:
        morning, afternoon = task("Plan"), task("Build")
        tasks += [morning, afternoon]
        blocks += [block(morning.id, at(day, "08:00"), 60), block(afternoon.id, at(day, "14:00"), 60)]
        runs.append(run(afternoon.id, at(day, "14:05"), 50))
    records = activity(DAYS[0], DAYS[-1], tasks=tasks, blocks=blocks, runs=runs)
    found = low_output_hours(records, DAYS[0], DAYS[-1], now=AFTER)
    assert isinstance(found, LowOutputHoursInsight)
    assert (found.start_hour, found.end_hour, found.done_share, found.samples) == (8, 10, 0.0, 5)
    insights = derive(records, DAYS[-1], now=AFTER)
    assert [type(i) for i in insights] == [LowOutputHoursInsight]


def test_blocks_not_yet_passed_say_nothing_about_output() -> None:
    tasks, blocks = [], []
    for day in DAYS[:5]:
        morning = task("Plan")
        tasks.append(morning)
        blocks.append(block(morning.id, at(day, "08:00"), 60))
    records = activity(DAYS[0], DAYS[-1], tasks=tasks, blocks=blocks)
    assert low_output_hours(records, DAYS[0], DAYS[-1], now=at(DAYS[0], "07:00")) is None


def test_weekly_insights_are_typed_metadata() -> None:
    records, _ = _week_of_writing(1.4)
    [insight] = derive(records, DAYS[-1], now=AFTER)  # type: ignore[arg-type]
    assert isinstance(insight, EstimateFactorInsight)
    assert insight.model_dump(mode="json")["insight"] == "estimate_factor"
    assert (insight.window_from, insight.window_to) == (DAYS[-1] - timedelta(days=27), DAYS[-1])
