"""Local days and ISO weeks: what "yesterday", "2026-11-30" and "2026-W48" mean for a user in their zone."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from observer_agent.domain.models import Span
from pma_core.contracts.reflections import EARLIEST_DAY, DefaultDay, parse_iso_week
from pma_core.errors import ValidationFailedError

EARLIEST = EARLIEST_DAY
# The time zone furthest ahead (UTC+14, the Line Islands): a day not begun there has begun nowhere.
FURTHEST_AHEAD = timezone(timedelta(hours=14))


def local_today(now: datetime, zone: ZoneInfo) -> date:
    return now.astimezone(zone).date()


def day_span(day: date, zone: ZoneInfo) -> Span:
    """The local day [midnight, next midnight) in UTC: 23 or 25 hours long across a DST change."""
    start = datetime.combine(day, time(), tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), time(), tzinfo=zone)
    return Span(start.astimezone(ZoneInfo("UTC")), end.astimezone(ZoneInfo("UTC")))


def days_span(first: date, last: date, zone: ZoneInfo) -> Span:
    return Span(day_span(first, zone).start, day_span(last, zone).end)


def week_of(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def week_monday(week: str) -> date:
    """The first day of an ISO week (always a real date, unlike the Sunday of 9999-W52)."""
    year, number = parse_iso_week(week)
    return date.fromisocalendar(year, number, 1)


def week_days(week: str) -> list[date]:
    """The seven dates of an ISO week, Monday first (for a week that has begun: 9999-W52 overflows)."""
    monday = week_monday(week)
    return [monday + timedelta(days=offset) for offset in range(7)]


def _refuse(field: str, message: str) -> ValidationFailedError:
    return ValidationFailedError(
        f"invalid request: body.{field}: {message}",
        details=[{"field": f"body.{field}", "message": message, "type": "value_error"}],
    )


def checked_day(day: date | None, *, now: datetime, zone: ZoneInfo, default: DefaultDay = "yesterday") -> date:
    """The date asked for (default: the user's yesterday or today); a date after the user's today is a 422."""
    today = local_today(now, zone)
    fallback = today if default == "today" else today - timedelta(days=1)
    chosen = day if day is not None else fallback
    if chosen > today:
        raise _refuse("date", f"{chosen} is in the future for this user (their today is {today} in {zone.key})")
    if chosen < EARLIEST:
        raise _refuse("date", f"{chosen} is before {EARLIEST}")
    return chosen


def checked_week(week: str | None, *, now: datetime, zone: ZoneInfo) -> str:
    """The week asked for (default: the week of the user's yesterday); a week not yet begun is a 422."""
    today = local_today(now, zone)
    chosen = week if week is not None else week_of(today - timedelta(days=1))
    first = week_monday(chosen)
    if first > today:
        raise _refuse("week", f"{chosen} has not begun for this user (their today is {today} in {zone.key})")
    if first < EARLIEST:
        raise _refuse("week", f"{chosen} is before {EARLIEST}")
    return chosen


def begun_somewhere(first: date, *, field: str, label: str, now: datetime) -> None:
    """A period asked of every user must have begun in some time zone (its first day at the latest today at
    UTC+14), and not before reflections start; each user's own today is checked per user after this."""
    today = now.astimezone(FURTHEST_AHEAD).date()
    if first > today:
        raise _refuse(field, f"{label} has not begun anywhere yet (the furthest-ahead today is {today}, at UTC+14)")
    if first < EARLIEST:
        raise _refuse(field, f"{label} is before {EARLIEST}")
