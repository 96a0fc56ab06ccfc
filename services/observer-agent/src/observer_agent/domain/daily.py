"""A day's metrics: the day's figures plus what only a sequence of days shows (carry-overs and how often
each rolled, slipped deadlines, finish time, the change since last week, streaks)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta

from observer_agent.domain.figures import blocks_in, day_figures, done_by
from observer_agent.domain.models import Activity, Span
from observer_agent.domain.periods import day_span
from observer_agent.domain.workday import working_spans
from pma_core.contracts.reflections import CarryOver, DailyMetrics, DayFigures, SlippedDeadline

# Streaks and roll counts continue from the last reflection at most this many days back.
LOOKBACK_DAYS = 7


def carry_overs(activity: Activity, span: Span, rolled_before: Mapping[str, int]) -> list[CarryOver]:
    """Tasks planned in `span` and not done by its end (nor cancelled), with how often each rolled."""
    result: dict[str, CarryOver] = {}
    for block in blocks_in(activity, span):
        task = activity.tasks.get(block.task_id)
        if task is None or task.status == "cancelled" or done_by(activity, block.task_id, span):
            continue
        key = str(block.task_id)
        result[key] = CarryOver(task_id=block.task_id, title=task.title, times_rolled=rolled_before.get(key, 0) + 1)
    return sorted(result.values(), key=lambda c: (-c.times_rolled, c.title))


def slipped(activity: Activity, span: Span) -> list[SlippedDeadline]:
    """Tasks due within `span` that were not done by their deadline."""
    found = []
    for task in activity.tasks.values():
        if task.deadline is None or task.status == "cancelled" or not span.start <= task.deadline < span.end:
            continue
        finished = task.completed_at or (task.updated_at if task.status == "done" else None)
        if finished is None or finished > task.deadline:
            found.append(
                SlippedDeadline(task_id=task.id, title=task.title, deadline=task.deadline, completed_at=finished)
            )
    return sorted(found, key=lambda s: s.deadline)


def _previous(activity: Activity, day: date, past: Mapping[date, DailyMetrics]) -> DailyMetrics | None:
    """The reflection of the last working day before `day`, if it was made (a gap breaks the chain)."""
    for back in range(1, LOOKBACK_DAYS + 1):
        earlier = day - timedelta(days=back)
        if earlier in past:
            return past[earlier]
        if working_spans(earlier, activity.calendar):
            return None
    return None


def _streaks(figures: DayFigures, previous: DailyMetrics | None) -> tuple[int, int]:
    done_before = previous.done_streak if previous else 0
    work_before = previous.work_streak if previous else 0
    if not figures.working_day:
        return done_before, work_before  # a day off neither extends nor breaks a streak
    all_done = figures.tasks_planned > 0 and figures.tasks_done == figures.tasks_planned
    return (done_before + 1 if all_done else 0), (work_before + 1 if figures.actual_minutes > 0 else 0)


def _vs_last_week(figures: DayFigures, week_ago: DailyMetrics | None) -> dict[str, float] | None:
    if week_ago is None:
        return None
    change: dict[str, float] = {
        "tasks_done": figures.tasks_done - week_ago.tasks_done,
        "actual_minutes": figures.actual_minutes - week_ago.actual_minutes,
        "planned_minutes": figures.planned_minutes - week_ago.planned_minutes,
    }
    now, then = figures.estimate_accuracy.ratio, week_ago.estimate_accuracy.ratio
    if now is not None and then is not None:
        change["estimate_accuracy"] = round(now - then, 3)
    return change


def _finish(activity: Activity, day: date, span: Span) -> tuple[datetime | None, datetime | None]:
    ends = [
        run.finished_at
        for run in activity.executions
        if run.finished_at is not None and span.start <= run.started_at < span.end
    ]
    working = working_spans(day, activity.calendar)
    return (max(ends) if ends else None), (working[-1].end if working else None)


def daily_metrics(activity: Activity, day: date, past: Mapping[date, DailyMetrics]) -> DailyMetrics:
    """The metrics of `day`, given the stored daily metrics of earlier days (for streaks and rolls)."""
    span = day_span(day, activity.calendar.zone)
    figures = day_figures(activity, day)
    previous = _previous(activity, day, past)
    rolled = {str(c.task_id): c.times_rolled for c in previous.carry_overs} if previous else {}
    done_streak, work_streak = _streaks(figures, previous)
    finished_at, planned_end = _finish(activity, day, span)
    delta = round((finished_at - planned_end).total_seconds() / 60) if finished_at and planned_end else None
    return DailyMetrics(
        **figures.model_dump(),
        time_zone=activity.calendar.zone.key,
        carry_overs=carry_overs(activity, span, rolled),
        slipped_deadlines=slipped(activity, span),
        finished_at=finished_at,
        planned_end=planned_end,
        finish_delta_minutes=delta,
        vs_last_week=_vs_last_week(figures, past.get(day - timedelta(days=7))),
        done_streak=done_streak,
        work_streak=work_streak,
        sources=dict(activity.sources),
    )
