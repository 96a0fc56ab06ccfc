"""The figures of a span of local days, from recorded activity only (never from an LLM).

Definitions (docs/observer.md):
- a task is *planned* on a day when one of its blocks (planned or done, not deleted by the user) overlaps
  the day; it is *done* by the day's end when the planner marked it done before then, or a run of it
  succeeded that day;
- *actual minutes* are those of finished runs started that day; *focus* is task and coding work in runs
  of 25 minutes or more; *unplanned* is work on anything that had no block that day;
- estimate accuracy is sum(actual) / sum(estimated) over finished runs with an estimate: never an
  average of ratios, which one five-minute task run ten times over would dominate.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from datetime import date, timedelta
from uuid import UUID

from observer_agent.domain.models import Activity, Span
from observer_agent.domain.periods import day_span, days_span
from observer_agent.domain.workday import merged, overlap_minutes, working_spans
from pma_core.contracts.executions import ExecutionRead
from pma_core.contracts.reflections import DayFigures, Ratio
from pma_core.contracts.scheduling import BlockRead

FOCUS_RUN_MINUTES = 25
FOCUS_KINDS = frozenset({"task", "coding"})


def dates(first: date, last: date) -> list[date]:
    return [first + timedelta(days=offset) for offset in range((last - first).days + 1)]


def ratio(runs: Iterable[ExecutionRead]) -> Ratio:
    """sum(actual) / sum(estimated) over the finished runs that carry both."""
    measured = [r for r in runs if r.estimated_minutes and r.actual_minutes is not None]
    actual = sum(r.actual_minutes or 0 for r in measured)
    estimated = sum(r.estimated_minutes or 0 for r in measured)
    value = round(actual / estimated, 3) if estimated else None
    return Ratio(ratio=value, samples=len(measured), actual_minutes=actual, estimated_minutes=estimated)


def ratios_by_tag(activity: Activity, runs: Sequence[ExecutionRead]) -> dict[str, Ratio]:
    per_tag: dict[str, list[ExecutionRead]] = defaultdict(list)
    for run in runs:
        task = activity.tasks.get(run.task_id) if run.task_id else None
        for tag in task.tags if task else []:
            per_tag[tag].append(run)
    return {tag: ratio(tag_runs) for tag, tag_runs in sorted(per_tag.items())}


def finished_runs(activity: Activity, span: Span) -> list[ExecutionRead]:
    return [
        run
        for run in activity.executions
        if run.actual_minutes is not None and run.status != "running" and span.start <= run.started_at < span.end
    ]


def blocks_in(activity: Activity, span: Span) -> list[BlockRead]:
    return [
        block
        for block in activity.blocks
        if block.status != "deleted" and block.start < span.end and block.end > span.start
    ]


def done_by(activity: Activity, task_id: UUID, span: Span) -> bool:
    """Done by the end of `span`: marked done before then, or a run of it succeeded within it."""
    task = activity.tasks.get(task_id)
    if task is not None and task.status == "done":
        moment = task.completed_at or task.updated_at
        if moment < span.end:
            return True
    return any(
        run.status == "succeeded" and span.start <= run.started_at < span.end
        for run in activity.runs_by_task.get(task_id, ())
    )


def _completed_within(activity: Activity, span: Span) -> set[UUID]:
    done = {
        task.id
        for task in activity.tasks.values()
        if task.status == "done" and span.start <= (task.completed_at or task.updated_at) < span.end
    }
    done |= {
        run.task_id
        for run in activity.executions
        if run.task_id and run.status == "succeeded" and span.start <= run.started_at < span.end
    }
    return done


def _capacity(activity: Activity, day: date, meetings: list[Span]) -> tuple[list[Span], float, float]:
    """The day's working spans, its working minutes and the meeting minutes within them."""
    working = working_spans(day, activity.calendar)
    return working, sum(span.minutes for span in working), overlap_minutes(meetings, working)


def day_figures(activity: Activity, day: date) -> DayFigures:
    """One local day's figures."""
    span = day_span(day, activity.calendar.zone)
    blocks = blocks_in(activity, span)
    planned_ids = {block.task_id for block in blocks}
    planned_minutes = sum((Span(b.start, b.end).clip(span) or span).minutes for b in blocks)
    runs = finished_runs(activity, span)
    meetings = merged([clipped for busy in activity.busy if (clipped := busy.clip(span)) is not None])
    working, working_minutes, meeting_in_hours = _capacity(activity, day, meetings)
    cap = activity.calendar.profile.daily_focus_cap_minutes
    capacity = max(0.0, min(working_minutes - meeting_in_hours, cap)) if working else 0.0
    completed = _completed_within(activity, span)
    return DayFigures(
        date=day,
        working_day=bool(working),
        plans_created=sum(1 for plan in activity.plans if span.start <= plan.created_at < span.end),
        tasks_planned=len(planned_ids),
        tasks_done=sum(1 for task_id in planned_ids if done_by(activity, task_id, span)),
        tasks_done_unplanned=len(completed - planned_ids),
        planned_minutes=round(planned_minutes),
        actual_minutes=sum(run.actual_minutes or 0 for run in runs),
        focus_minutes=sum(
            run.actual_minutes or 0
            for run in runs
            if run.run_kind in FOCUS_KINDS and (run.actual_minutes or 0) >= FOCUS_RUN_MINUTES
        ),
        meeting_minutes=round(sum(m.minutes for m in meetings)),
        meeting_share=round(meeting_in_hours / working_minutes, 3) if working_minutes else None,
        unplanned_minutes=sum(run.actual_minutes or 0 for run in runs if run.task_id not in planned_ids),
        capacity_minutes=round(capacity),
        planned_load=round(planned_minutes / capacity, 3) if capacity else None,
        estimate_accuracy=ratio(runs),
        accuracy_by_tag=ratios_by_tag(activity, runs),
        executions=len(runs),
        running_executions=sum(
            1 for run in activity.executions if run.status == "running" and span.start <= run.started_at < span.end
        ),
        events=dict(
            sorted(Counter(e.event_type for e in activity.events if span.start <= e.occurred_at < span.end).items())
        ),
    )


def total_figures(activity: Activity, days: Sequence[DayFigures]) -> DayFigures:
    """Figures of several days together: sums, with every ratio recomputed from the sums (or the runs)."""
    first = days[0].date
    span = days_span(first, days[-1].date, activity.calendar.zone)
    runs = finished_runs(activity, span)
    planned = sum(d.planned_minutes for d in days)
    capacity = sum(d.capacity_minutes for d in days)
    working = [working_spans(d.date, activity.calendar) for d in days]
    working_minutes = sum(span.minutes for spans in working for span in spans)
    meetings_in_hours = sum(overlap_minutes(list(activity.busy), spans) for spans in working if spans)
    events: Counter[str] = Counter()
    for figures in days:
        events.update(figures.events)
    # A task planned on three days of the week is one task planned, not three.
    planned_ids = {block.task_id for block in blocks_in(activity, span)}
    completed = _completed_within(activity, span)

    def total(name: str) -> int:
        return sum(int(getattr(d, name)) for d in days)

    return DayFigures(
        date=first,
        working_day=any(d.working_day for d in days),
        plans_created=total("plans_created"),
        tasks_planned=len(planned_ids),
        tasks_done=sum(1 for task_id in planned_ids if done_by(activity, task_id, span)),
        tasks_done_unplanned=len(completed - planned_ids),
        planned_minutes=planned,
        actual_minutes=total("actual_minutes"),
        focus_minutes=total("focus_minutes"),
        meeting_minutes=total("meeting_minutes"),
        meeting_share=round(meetings_in_hours / working_minutes, 3) if working_minutes else None,
        unplanned_minutes=total("unplanned_minutes"),
        capacity_minutes=capacity,
        planned_load=round(planned / capacity, 3) if capacity else None,
        estimate_accuracy=ratio(runs),
        accuracy_by_tag=ratios_by_tag(activity, runs),
        executions=total("executions"),
        running_executions=total("running_executions"),
        events=dict(sorted(events.items())),
    )
