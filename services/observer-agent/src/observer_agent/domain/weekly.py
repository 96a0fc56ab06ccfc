"""A week's metrics: seven days side by side, their totals, and the trend against the week before."""

from __future__ import annotations

from observer_agent.domain.daily import carry_overs, slipped
from observer_agent.domain.figures import day_figures, total_figures
from observer_agent.domain.models import Activity
from observer_agent.domain.periods import days_span, week_days
from pma_core.contracts.reflections import CarryOver, DayFigures, WeeklyMetrics

_TREND_FIELDS = (
    "tasks_planned",
    "tasks_done",
    "planned_minutes",
    "actual_minutes",
    "focus_minutes",
    "meeting_minutes",
    "unplanned_minutes",
)


def _trends(now: DayFigures, before: DayFigures | None) -> dict[str, float | None]:
    if before is None:
        return dict.fromkeys(_TREND_FIELDS)
    trends: dict[str, float | None] = {name: getattr(now, name) - getattr(before, name) for name in _TREND_FIELDS}
    ratio_now, ratio_before = now.estimate_accuracy.ratio, before.estimate_accuracy.ratio
    trends["estimate_accuracy"] = (
        round(ratio_now - ratio_before, 3) if ratio_now is not None and ratio_before is not None else None
    )
    return trends


def weekly_metrics(activity: Activity, week: str, previous_week: str | None) -> WeeklyMetrics:
    """The metrics of `week`; `activity` must cover `previous_week` too for the trends (None: no trend)."""
    days = [day_figures(activity, day) for day in week_days(week)]
    totals = total_figures(activity, days)
    before = None
    if previous_week is not None and activity.first <= week_days(previous_week)[0]:
        before = total_figures(activity, [day_figures(activity, day) for day in week_days(previous_week)])
    dates = week_days(week)
    span = days_span(dates[0], dates[-1], activity.calendar.zone)
    return WeeklyMetrics(
        week=week,
        time_zone=activity.calendar.zone.key,
        days=days,
        totals=totals,
        previous_totals=before,
        trends=_trends(totals, before),
        carry_overs=_weekly_carry_overs(activity, week),
        slipped_deadlines=slipped(activity, span),
        sources=dict(activity.sources),
    )


def _weekly_carry_overs(activity: Activity, week: str) -> list[CarryOver]:
    """Tasks still open at the week's end; `times_rolled` counts the days of the week each was carried over."""
    rolled: dict[str, int] = {}
    zone = activity.calendar.zone
    for day in week_days(week):
        for carried in carry_overs(activity, days_span(day, day, zone), {}):
            rolled[str(carried.task_id)] = rolled.get(str(carried.task_id), 0) + 1
    dates = week_days(week)
    still_open = carry_overs(activity, days_span(dates[0], dates[-1], zone), {})
    return [c.model_copy(update={"times_rolled": max(1, rolled.get(str(c.task_id), 0))}) for c in still_open]
