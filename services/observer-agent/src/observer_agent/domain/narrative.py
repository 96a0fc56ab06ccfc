"""The deterministic offline narrative: wins, blockers, what slipped and why, and one to three
suggestions, each resting on a figure it names. The LLM narrative says the same things in better words;
neither ever changes a figure."""

from __future__ import annotations

from pma_core.contracts.reflections import (
    MAX_SUGGESTIONS,
    CarryOver,
    DailyMetrics,
    DayFigures,
    Narrative,
    SlippedDeadline,
    Suggestion,
    WeeklyMetrics,
)

OVERRUN, UNDERRUN = 1.2, 0.8
HEAVY_MEETINGS = 0.4
OVERLOAD = 1.1


def _pct(value: float) -> str:
    return f"{value:.0%}"


def _wins(figures: DayFigures, streak: int | None) -> list[str]:
    wins = []
    if figures.tasks_done:
        wins.append(f"{figures.tasks_done} of {figures.tasks_planned} planned tasks done")
    if figures.tasks_done_unplanned:
        wins.append(f"{figures.tasks_done_unplanned} unplanned tasks done as well")
    if figures.focus_minutes >= 90:
        wins.append(f"{figures.focus_minutes} minutes of focused work")
    accuracy = figures.estimate_accuracy
    if accuracy.ratio is not None and UNDERRUN <= accuracy.ratio <= OVERRUN and accuracy.samples >= 2:
        wins.append(f"estimates held (x{accuracy.ratio:.2f} over {accuracy.samples} runs)")
    if streak and streak > 1:
        wins.append(f"{streak} working days in a row with every planned task done")
    return wins


def _blockers(figures: DayFigures, carried: list[CarryOver], slipped: list[SlippedDeadline]) -> list[str]:
    blockers = []
    if carried:
        worst = carried[0]
        rolled = f", rolled {worst.times_rolled}x" if worst.times_rolled > 1 else ""
        blockers.append(f"{len(carried)} tasks carried over (e.g. '{worst.title}'{rolled})")
    if slipped:
        blockers.append(f"{len(slipped)} deadlines slipped (e.g. '{slipped[0].title}')")
    if figures.meeting_share is not None and figures.meeting_share >= HEAVY_MEETINGS:
        blockers.append(f"meetings took {_pct(figures.meeting_share)} of working hours")
    if figures.planned_load is not None and figures.planned_load > OVERLOAD:
        blockers.append(f"planned load was {_pct(figures.planned_load)} of capacity")
    if figures.unplanned_minutes >= 60:
        blockers.append(f"{figures.unplanned_minutes} minutes went to unplanned work")
    return blockers


def _overrun_tag(figures: DayFigures) -> tuple[str, float, int] | None:
    tags = [
        (tag, r.ratio, r.samples)
        for tag, r in figures.accuracy_by_tag.items()
        if r.ratio is not None and r.ratio >= OVERRUN and r.samples >= 2
    ]
    return max(tags, key=lambda t: t[1]) if tags else None


def _suggestions(figures: DayFigures, carried: list[CarryOver], slipped: list[SlippedDeadline]) -> list[Suggestion]:
    found: list[Suggestion] = []
    if carried and carried[0].times_rolled >= 2:
        worst = carried[0]
        found.append(
            Suggestion(
                text=f"Split '{worst.title}' into a first step of 30 minutes and schedule it first thing",
                evidence=f"carried over {worst.times_rolled} times in a row",
            )
        )
    tag = _overrun_tag(figures)
    if tag is not None:
        found.append(
            Suggestion(
                text=f"Pad {tag[0]} estimates by {_pct(tag[1] - 1)}",
                evidence=f"{tag[0]} work ran x{tag[1]:.2f} its estimate over {tag[2]} runs",
            )
        )
    if figures.planned_load is not None and figures.planned_load > OVERLOAD:
        found.append(
            Suggestion(
                text="Plan less: leave a fifth of the capacity free for what comes up",
                evidence=f"planned {figures.planned_minutes} min against {figures.capacity_minutes} min capacity",
            )
        )
    if figures.meeting_share is not None and figures.meeting_share >= HEAVY_MEETINGS:
        found.append(
            Suggestion(
                text="Protect one meeting-free focus block of 90 minutes",
                evidence=f"meetings took {_pct(figures.meeting_share)} of working hours",
            )
        )
    if slipped:
        found.append(
            Suggestion(
                text=f"Renegotiate or reschedule '{slipped[0].title}' before starting new work",
                evidence=f"deadline {slipped[0].deadline:%Y-%m-%d %H:%M} UTC passed with it open",
            )
        )
    return found[:MAX_SUGGESTIONS] or [_keep_going(figures)]


def _keep_going(figures: DayFigures) -> Suggestion:
    if figures.tasks_planned == 0 and figures.actual_minutes == 0:
        return Suggestion(
            text="Plan tomorrow's first task tonight so the day starts with a block on the calendar",
            evidence="nothing was planned or recorded",
        )
    return Suggestion(
        text="Keep the same plan size tomorrow",
        evidence=f"{figures.tasks_done}/{figures.tasks_planned} planned tasks done, no overrun or overload",
    )


def _slipped_sentence(carried: list[CarryOver], slipped: list[SlippedDeadline], figures: DayFigures) -> str:
    if not carried and not slipped:
        return "Nothing slipped."
    why = []
    if figures.planned_load is not None and figures.planned_load > OVERLOAD:
        why.append("more was planned than the day could hold")
    if figures.unplanned_minutes >= 60:
        why.append(f"{figures.unplanned_minutes} minutes went to unplanned work")
    tag = _overrun_tag(figures)
    if tag is not None:
        why.append(f"{tag[0]} work overran its estimates")
    cause = "; ".join(why) if why else "no single cause shows in the records"
    return f"{len(carried)} carried over and {len(slipped)} deadlines slipped: {cause}."


def _summary(label: str, figures: DayFigures) -> str:
    if not figures.tasks_planned and not figures.actual_minutes and not figures.tasks_done_unplanned:
        return f"{label}: nothing was planned or recorded."
    accuracy = figures.estimate_accuracy.ratio
    accuracy_text = f", estimates x{accuracy:.2f}" if accuracy is not None else ""
    return (
        f"{label}: {figures.tasks_done}/{figures.tasks_planned} planned tasks done, "
        f"{figures.actual_minutes} of {figures.planned_minutes} planned minutes worked{accuracy_text}."
    )


def daily_narrative(metrics: DailyMetrics) -> Narrative:
    suggestions = _suggestions(metrics, metrics.carry_overs, metrics.slipped_deadlines)
    return Narrative(
        summary=_summary(str(metrics.date), metrics),
        wins=_wins(metrics, metrics.done_streak),
        blockers=_blockers(metrics, metrics.carry_overs, metrics.slipped_deadlines),
        slipped=_slipped_sentence(metrics.carry_overs, metrics.slipped_deadlines, metrics),
        change_for_tomorrow=suggestions[0].text,
        suggestions=suggestions,
    )


def weekly_narrative(metrics: WeeklyMetrics) -> Narrative:
    totals = metrics.totals
    suggestions = _suggestions(totals, metrics.carry_overs, metrics.slipped_deadlines)
    trend = metrics.trends.get("tasks_done")
    wins = _wins(totals, None)
    if trend is not None and trend > 0:
        wins.append(f"{int(trend)} more tasks done than the week before")
    return Narrative(
        summary=_summary(metrics.week, totals),
        wins=wins,
        blockers=_blockers(totals, metrics.carry_overs, metrics.slipped_deadlines),
        slipped=_slipped_sentence(metrics.carry_overs, metrics.slipped_deadlines, totals),
        change_for_tomorrow=suggestions[0].text,
        suggestions=suggestions,
    )
