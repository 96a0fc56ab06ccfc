"""A user's local rules turned into UTC free time on the slot grid, and the local days with their focus cap.

Local wall times are resolved with zoneinfo day by day, so a 09:00-17:00 working day is 8 hours also on
the days the clocks change (its UTC offsets differ, its length does not). The grid is UTC's own: every
UTC offset in use is a multiple of 15 minutes, so local midnights and whole local hours fall on it too.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from scheduler_engine.domain.models import SLOT_MINUTES, Interval, LocalWindow, Profile

SLOT = timedelta(minutes=SLOT_MINUTES)
_EPOCH = datetime(2000, 1, 3, tzinfo=UTC)  # any instant on the grid will do


def align_down(moment: datetime) -> datetime:
    """The latest grid instant at or before `moment` (in UTC)."""
    utc = _utc(moment)
    return utc - (utc - _EPOCH) % SLOT


def align_up(moment: datetime) -> datetime:
    """The earliest grid instant at or after `moment` (in UTC)."""
    down = align_down(moment)
    return down if down == moment else down + SLOT


def zone_of(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as error:  # ValueError: a malformed key such as "../x"
        raise ValueError(f"unknown time zone {name!r}: expected an IANA name such as 'Europe/Berlin'") from error


def free_time(
    profile: Profile,
    window: Interval,
    busy: Sequence[Interval],
    *,
    now: datetime,
    protected_extra: Sequence[LocalWindow] = (),
) -> tuple[tuple[Interval, ...], tuple[tuple[Interval, int], ...]]:
    """The `free` and `days` of a Problem: working time in `window` after `now`, less days off, lunch,
    protected windows and busy time, snapped inward to the grid; and each local day with working time
    as its UTC [midnight, next midnight) with the daily focus cap."""
    zone = zone_of(profile.time_zone)
    local_days = [day for day in _local_dates(window, zone) if _is_working_day(profile, day)]
    working = [
        clipped
        for day in local_days
        for part in _local_intervals(profile.working_hours.get(day.weekday(), ()), day, zone)
        if (clipped := _clip(part, window.start, window.end)) is not None
    ]
    kept_free = (*profile.protected, *protected_extra, *((profile.lunch,) if profile.lunch else ()))
    blocked = [*busy, *(part for day in local_days for part in _local_intervals(kept_free, day, zone))]
    if now > window.start:
        blocked.append(Interval(window.start, now))
    free = (_snapped(part) for part in _subtract(merge_intervals(working), merge_intervals(blocked)))
    days = tuple(
        (_local_day(day, zone), profile.daily_focus_cap_minutes)
        for day in local_days
        if _has_working_time(day, working, zone)
    )
    return tuple(part for part in free if part is not None), days


def merge_intervals(intervals: Iterable[Interval]) -> list[Interval]:
    """Sorted, with overlapping and touching intervals joined."""
    merged: list[Interval] = []
    for interval in sorted(intervals, key=lambda part: part.start):
        if interval.end <= interval.start:
            continue
        if merged and interval.start <= merged[-1].end:
            if interval.end > merged[-1].end:
                merged[-1] = Interval(merged[-1].start, interval.end)
        else:
            merged.append(interval)
    return merged


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError(f"naive datetime {moment.isoformat()}: the scheduler works in timezone-aware UTC")
    return moment.astimezone(UTC)


def _local_dates(window: Interval, zone: ZoneInfo) -> Iterator[date]:
    # From the day before: a window that starts near midnight may meet the previous local day.
    day = window.start.astimezone(zone).date() - timedelta(days=1)
    last = window.end.astimezone(zone).date()
    while day <= last:
        yield day
        day += timedelta(days=1)


def _is_working_day(profile: Profile, day: date) -> bool:
    return day not in profile.days_off and bool(profile.working_hours.get(day.weekday()))


def _at(day: date, clock: time, zone: ZoneInfo) -> datetime:
    # A wall time the clocks skip (02:30 on a spring-forward day) resolves with the offset before the change.
    return datetime.combine(day, clock, tzinfo=zone).astimezone(UTC)


def _local_intervals(windows: Iterable[LocalWindow], day: date, zone: ZoneInfo) -> Iterator[Interval]:
    for window in windows:
        # An end at or before the start ends on the next day: 22:00-00:00 is the last two hours of `day`.
        end_day = day if window.end > window.start else day + timedelta(days=1)
        yield Interval(_at(day, window.start, zone), _at(end_day, window.end, zone))


def _local_day(day: date, zone: ZoneInfo) -> Interval:
    return Interval(_at(day, time(0), zone), _at(day + timedelta(days=1), time(0), zone))


def _has_working_time(day: date, working: Sequence[Interval], zone: ZoneInfo) -> bool:
    span = _local_day(day, zone)
    return any(part.start < span.end and span.start <= part.start for part in working)


def _clip(interval: Interval, start: datetime, end: datetime) -> Interval | None:
    clipped = Interval(max(interval.start, start), min(interval.end, end))
    return clipped if clipped.start < clipped.end else None


def _subtract(free: Sequence[Interval], blocked: Sequence[Interval]) -> Iterator[Interval]:
    """`free` less `blocked`; both sorted and disjoint (merged)."""
    index = 0
    for interval in free:
        cursor = interval.start
        while index < len(blocked) and blocked[index].end <= cursor:
            index += 1
        probe = index
        while probe < len(blocked) and blocked[probe].start < interval.end:
            if blocked[probe].start > cursor:
                yield Interval(cursor, blocked[probe].start)
            cursor = max(cursor, blocked[probe].end)
            probe += 1
        if cursor < interval.end:
            yield Interval(cursor, interval.end)


def _snapped(interval: Interval) -> Interval | None:
    """Inward to the grid; None when less than one slot is left."""
    start, end = align_up(_utc(interval.start)), align_down(_utc(interval.end))
    return Interval(start, end) if end - start >= SLOT else None
