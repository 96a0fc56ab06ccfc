"""A user's working day from their scheduling profile: working windows less lunch, as UTC spans."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from observer_agent.domain.models import Span, UserCalendar
from pma_core.contracts.scheduling import WEEKDAYS, TimeWindow


def _moment(day: date, hhmm: str, calendar: UserCalendar) -> datetime:
    if hhmm == "24:00":
        return datetime.combine(day + timedelta(days=1), time(), tzinfo=calendar.zone)
    hours, minutes = (int(part) for part in hhmm.split(":"))
    return datetime.combine(day, time(hours, minutes), tzinfo=calendar.zone)


def _span(day: date, window: TimeWindow, calendar: UserCalendar) -> Span:
    return Span(_moment(day, window.start, calendar), _moment(day, window.end, calendar))


def subtract(spans: list[Span], cut: Span) -> list[Span]:
    """`spans` with `cut` taken out of each."""
    kept: list[Span] = []
    for span in spans:
        if cut.end <= span.start or cut.start >= span.end:
            kept.append(span)
            continue
        if cut.start > span.start:
            kept.append(Span(span.start, cut.start))
        if cut.end < span.end:
            kept.append(Span(cut.end, span.end))
    return kept


def working_spans(day: date, calendar: UserCalendar) -> list[Span]:
    """The day's working windows without lunch; none on a day off or a day the profile does not work."""
    profile = calendar.profile
    if day in profile.days_off:
        return []
    windows = profile.working_hours.get(WEEKDAYS[day.weekday()], [])
    spans = [_span(day, window, calendar) for window in windows]
    if profile.lunch is not None:
        spans = subtract(spans, _span(day, profile.lunch, calendar))
    return sorted(spans, key=lambda span: span.start)


def merged(spans: list[Span]) -> list[Span]:
    """Overlapping spans joined, in order (two meetings at once are one busy hour, not two)."""
    result: list[Span] = []
    for span in sorted(spans, key=lambda s: s.start):
        if result and span.start <= result[-1].end:
            result[-1] = Span(result[-1].start, max(result[-1].end, span.end))
        else:
            result.append(span)
    return result


def overlap_minutes(spans: list[Span], within: list[Span]) -> float:
    total = 0.0
    for span in merged(spans):
        for window in within:
            clipped = span.clip(window)
            if clipped is not None:
                total += clipped.minutes
    return total
