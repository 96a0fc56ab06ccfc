"""Durable findings from a window of recorded work (by default the four weeks up to a week's end).

- Estimate factor per tag: sum(actual) / sum(estimated) over at least `MIN_INSIGHT_SAMPLES` finished runs
  of tasks with that tag. A factor within `BAND` of 1 is news only when it replaces an earlier finding of
  that tag (the work now fits its estimates), so the planner stops padding it.
- Low-output hours: blocks planned in a two-hour local window that mostly see no work on their task (no
  run overlapping the block, 30 minutes of slack either side), while the user's other blocks mostly do.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from datetime import date, datetime, timedelta

from observer_agent.domain.figures import finished_runs, ratios_by_tag
from observer_agent.domain.models import Activity, Span
from observer_agent.domain.periods import days_span
from pma_core.contracts.insights import (
    MAX_FACTOR,
    MIN_FACTOR,
    MIN_INSIGHT_SAMPLES,
    EstimateFactorInsight,
    LowOutputHoursInsight,
)
from pma_core.contracts.reflections import Insight
from pma_core.contracts.scheduling import BlockRead

INSIGHT_WINDOW_DAYS = 28
BAND = 0.1
BUCKET_HOURS = 2
MIN_BLOCKS = 5
LOW_SHARE, TYPICAL_SHARE = 0.25, 0.5
SLACK = timedelta(minutes=30)


def estimate_factors(
    activity: Activity, first: date, last: date, *, known_tags: Collection[str] = ()
) -> list[EstimateFactorInsight]:
    runs = finished_runs(activity, days_span(first, last, activity.calendar.zone))
    found = []
    for tag, measured in ratios_by_tag(activity, runs).items():
        if measured.samples < MIN_INSIGHT_SAMPLES or measured.ratio is None:
            continue
        if abs(measured.ratio - 1) < BAND and tag not in known_tags:
            continue
        found.append(
            EstimateFactorInsight(
                tag=tag,
                factor=round(min(MAX_FACTOR, max(MIN_FACTOR, measured.ratio)), 2),
                samples=measured.samples,
                actual_minutes=measured.actual_minutes,
                estimated_minutes=measured.estimated_minutes,
                window_from=first,
                window_to=last,
            )
        )
    return found


def _worked(activity: Activity, block: BlockRead) -> bool:
    window = Span(block.start - SLACK, block.end + SLACK)
    for run in activity.runs_by_task.get(block.task_id, ()):
        end = run.finished_at or run.started_at + timedelta(minutes=run.actual_minutes or 1)
        if Span(run.started_at, end).clip(window) is not None:
            return True
    return False


def low_output_hours(activity: Activity, first: date, last: date, *, now: datetime) -> LowOutputHoursInsight | None:
    span = days_span(first, last, activity.calendar.zone)
    past = [b for b in activity.blocks if b.status != "deleted" and span.start <= b.start < span.end and b.end <= now]
    buckets: dict[int, list[bool]] = defaultdict(list)
    for block in past:
        hour = block.start.astimezone(activity.calendar.zone).hour
        buckets[hour - hour % BUCKET_HOURS].append(_worked(activity, block))
    outcomes = [worked for bucket in buckets.values() for worked in bucket]
    if len(outcomes) < 2 * MIN_BLOCKS or sum(outcomes) / len(outcomes) < TYPICAL_SHARE:
        return None
    shares = {start: sum(b) / len(b) for start, b in buckets.items() if len(b) >= MIN_BLOCKS}
    low = [(share, start) for start, share in shares.items() if share < LOW_SHARE]
    if not low:
        return None
    share, start = min(low)
    return LowOutputHoursInsight(
        start_hour=start,
        end_hour=start + BUCKET_HOURS,
        done_share=round(share, 3),
        samples=len(buckets[start]),
        window_from=first,
        window_to=last,
    )


def derive(activity: Activity, last: date, *, now: datetime, known_tags: Collection[str] = ()) -> list[Insight]:
    """Every finding the window ending `last` supports."""
    first = last - timedelta(days=INSIGHT_WINDOW_DAYS - 1)
    found: list[Insight] = [*estimate_factors(activity, first, last, known_tags=known_tags)]
    hours = low_output_hours(activity, first, last, now=now)
    if hours is not None:
        found.append(hours)
    return found


def describe(insight: Insight) -> str:
    """The finding in one sentence, as it is remembered."""
    window = f"{insight.window_from}..{insight.window_to}"
    if isinstance(insight, EstimateFactorInsight):
        return (
            f"{insight.tag} tasks take x{insight.factor:.2f} their estimate "
            f"({insight.actual_minutes} min actual vs {insight.estimated_minutes} min estimated over "
            f"{insight.samples} runs, {window})"
        )
    return (
        f"blocks planned {insight.start_hour:02d}:00-{insight.end_hour:02d}:00 mostly see no work "
        f"({insight.done_share:.0%} of {insight.samples} blocks worked, {window})"
    )
