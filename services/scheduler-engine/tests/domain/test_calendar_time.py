"""Local working rules turned into UTC free time on the 15-minute grid: time zones, DST, lunch, days off,
protected windows, busy time, and the local days with their focus cap."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from scheduler_engine.domain.calendar_time import align_down, align_up, free_time
from scheduler_engine.domain.models import Interval, LocalWindow, Profile

EVERY_DAY_9_TO_5 = {day: (LocalWindow(time(9), time(17)),) for day in range(7)}


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def span(start: datetime, end: datetime) -> Interval:
    return Interval(start, end)


def local_day_window(zone: str, day: date) -> Interval:
    """The UTC window of one local calendar day."""
    tz = ZoneInfo(zone)
    start = datetime.combine(day, time(0), tzinfo=tz)
    return Interval(start.astimezone(UTC), (start + timedelta(days=1)).astimezone(UTC))


def test_align_to_the_grid() -> None:
    assert align_up(utc(2026, 3, 2, 9, 7)) == utc(2026, 3, 2, 9, 15)
    assert align_down(utc(2026, 3, 2, 9, 7)) == utc(2026, 3, 2, 9)
    assert align_up(utc(2026, 3, 2, 9, 45)) == utc(2026, 3, 2, 9, 45)
    assert align_down(datetime(2026, 3, 2, 23, 59, 59, tzinfo=UTC)) == utc(2026, 3, 2, 23, 45)
    # Another zone in, UTC out: 10:07 in Berlin (winter) is 09:07 UTC.
    berlin = datetime(2026, 3, 2, 10, 7, tzinfo=ZoneInfo("Europe/Berlin"))
    aligned = align_up(berlin)
    assert aligned == utc(2026, 3, 2, 9, 15)
    assert aligned.utcoffset() == timedelta(0)


def test_a_working_day_keeps_lunch_free_and_has_its_day_with_the_cap() -> None:
    monday = span(utc(2026, 3, 2), utc(2026, 3, 3))
    free, days = free_time(Profile(user_id="u"), monday, [], now=monday.start)
    assert free == (span(utc(2026, 3, 2, 9), utc(2026, 3, 2, 12)), span(utc(2026, 3, 2, 13), utc(2026, 3, 2, 17)))
    assert days == ((monday, 360),)


def test_weekends_and_days_off_have_no_free_time_and_no_day() -> None:
    week = span(utc(2026, 3, 2), utc(2026, 3, 9))  # Monday to Monday
    profile = Profile(user_id="u", days_off=frozenset({date(2026, 3, 4)}), lunch=None)
    free, days = free_time(profile, week, [], now=week.start)
    assert [part.start.date() for part in free] == [date(2026, 3, d) for d in (2, 3, 5, 6)]
    assert all(part.minutes == 8 * 60 for part in free)
    assert [day.start.date() for day, _ in days] == [date(2026, 3, d) for d in (2, 3, 5, 6)]


@pytest.mark.parametrize(
    ("day", "utc_start", "day_hours"),
    [
        (date(2026, 3, 28), utc(2026, 3, 28, 8), 24),  # Saturday before: CET, +01:00
        (date(2026, 3, 29), utc(2026, 3, 29, 7), 23),  # last Sunday of March: clocks go forward
        (date(2026, 3, 30), utc(2026, 3, 30, 7), 24),  # CEST, +02:00
        (date(2026, 10, 25), utc(2026, 10, 25, 8), 25),  # last Sunday of October: clocks go back
        (date(2026, 10, 26), utc(2026, 10, 26, 8), 24),  # CET again
    ],
)
def test_a_berlin_working_day_is_eight_hours_across_dst(day: date, utc_start: datetime, day_hours: int) -> None:
    profile = Profile(user_id="u", time_zone="Europe/Berlin", working_hours=EVERY_DAY_9_TO_5, lunch=None)
    window = local_day_window("Europe/Berlin", day)
    free, days = free_time(profile, window, [], now=window.start)
    assert free == (span(utc_start, utc_start + timedelta(hours=8)),)
    ((local_day, cap),) = days
    assert local_day == window
    assert local_day.end - local_day.start == timedelta(hours=day_hours)
    assert cap == 360


def test_the_dst_day_inside_a_longer_window_is_still_eight_hours() -> None:
    profile = Profile(user_id="u", time_zone="Europe/Berlin", working_hours=EVERY_DAY_9_TO_5, lunch=None)
    window = span(utc(2026, 3, 27), utc(2026, 4, 1))
    free, days = free_time(profile, window, [], now=window.start)
    assert [part.minutes for part in free] == [480] * len(free)
    assert [part.start.hour for part in free] == [8, 8, 7, 7, 7]  # Fri, Sat (+01:00), Sun, Mon, Tue (+02:00)
    assert [day.end - day.start for day, _ in days] == [timedelta(hours=h) for h in (24, 24, 23, 24, 24)]


def test_kolkata_half_hour_offset_lands_on_the_grid() -> None:
    profile = Profile(user_id="u", time_zone="Asia/Kolkata")
    window = local_day_window("Asia/Kolkata", date(2026, 3, 2))  # a Monday
    free, days = free_time(profile, window, [], now=window.start)
    # 09:00-12:00 and 13:00-17:00 IST (+05:30).
    assert free == (
        span(utc(2026, 3, 2, 3, 30), utc(2026, 3, 2, 6, 30)),
        span(utc(2026, 3, 2, 7, 30), utc(2026, 3, 2, 11, 30)),
    )
    assert days == ((span(utc(2026, 3, 1, 18, 30), utc(2026, 3, 2, 18, 30)), 360),)


def test_auckland_local_monday_starts_on_sunday_in_utc() -> None:
    profile = Profile(user_id="u", time_zone="Pacific/Auckland")
    window = local_day_window("Pacific/Auckland", date(2026, 3, 2))  # NZDT, +13:00
    free, days = free_time(profile, window, [], now=window.start)
    assert free == (span(utc(2026, 3, 1, 20), utc(2026, 3, 1, 23)), span(utc(2026, 3, 2, 0), utc(2026, 3, 2, 4)))
    assert days == ((span(utc(2026, 3, 1, 11), utc(2026, 3, 2, 11)), 360),)


def test_protected_windows_from_the_profile_and_extra() -> None:
    monday = span(utc(2026, 3, 2), utc(2026, 3, 3))
    no_deep_work_before_10 = LocalWindow(time(0), time(10))
    profile = Profile(user_id="u", lunch=None, protected=(no_deep_work_before_10,))
    free, _ = free_time(profile, monday, [], now=monday.start, protected_extra=[LocalWindow(time(15), time(16))])
    assert free == (span(utc(2026, 3, 2, 10), utc(2026, 3, 2, 15)), span(utc(2026, 3, 2, 16), utc(2026, 3, 2, 17)))


def test_busy_time_is_merged_and_free_time_snapped_inward() -> None:
    monday = span(utc(2026, 3, 2), utc(2026, 3, 3))
    busy = [
        span(utc(2026, 3, 2, 10), utc(2026, 3, 2, 11)),
        span(utc(2026, 3, 2, 9, 30), utc(2026, 3, 2, 10, 30)),  # overlaps the first
        span(utc(2026, 3, 2, 11), utc(2026, 3, 2, 11, 7)),  # touches it; ends off the grid
        span(utc(2026, 3, 2, 16, 50), utc(2026, 3, 2, 18)),  # starts off the grid
        span(utc(2026, 3, 2, 14, 10), utc(2026, 3, 2, 14, 20)),  # leaves 14:00-14:10: less than a slot
    ]
    free, _ = free_time(Profile(user_id="u", lunch=None), monday, busy, now=monday.start)
    assert free == (
        span(utc(2026, 3, 2, 9), utc(2026, 3, 2, 9, 30)),
        span(utc(2026, 3, 2, 11, 15), utc(2026, 3, 2, 14)),
        span(utc(2026, 3, 2, 14, 30), utc(2026, 3, 2, 16, 45)),
    )


def test_time_before_now_is_not_free() -> None:
    monday = span(utc(2026, 3, 2), utc(2026, 3, 3))
    free, days = free_time(Profile(user_id="u"), monday, [], now=utc(2026, 3, 2, 10, 20))
    assert free[0] == span(utc(2026, 3, 2, 10, 30), utc(2026, 3, 2, 12))
    assert len(days) == 1  # the day still counts, with its cap


def test_an_unknown_time_zone_is_a_clear_value_error() -> None:
    monday = span(utc(2026, 3, 2), utc(2026, 3, 3))
    with pytest.raises(ValueError, match="unknown time zone 'Mars/Olympus_Mons'"):
        free_time(Profile(user_id="u", time_zone="Mars/Olympus_Mons"), monday, [], now=monday.start)
