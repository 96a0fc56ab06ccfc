"""A due date read from the intent's own words ("by Friday"), when the request gives none.

Recognised after by / before / until / due / on: today, tonight, tomorrow, a weekday (its next occurrence,
today included), "end of (the) week" (Friday), "end of (the) month", "next week" (Friday of next week),
and an ISO date (2026-12-01). The moment is DUE_HOUR o'clock (tonight: 23:00) in the time zone named by
`constraints["timezone"]` (IANA, e.g. Europe/Berlin), else UTC. Anything else is left to the caller.
"""

from __future__ import annotations

import calendar
import re
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DUE_HOUR = 17
WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
_PHRASE = re.compile(
    r"\b(?:by|before|until|due|on)\s+(?:the\s+)?(?P<when>today|tonight|tomorrow|next\s+week|end\s+of\s+(?:the\s+)?"
    r"(?:week|month)|monday|tuesday|wednesday|thursday|friday|saturday|sunday|\d{4}-\d{2}-\d{2})\b",
    re.IGNORECASE,
)


def zone_of(constraints: dict[str, object]) -> ZoneInfo:
    name = constraints.get("timezone")
    if isinstance(name, str):
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return ZoneInfo("UTC")


def _day(when: str, today: date) -> tuple[date, int] | None:
    """The day a phrase names and the hour it ends, relative to `today` (in the user's zone)."""
    if when in ("today", "tonight"):
        return today, 23 if when == "tonight" else DUE_HOUR
    if when == "tomorrow":
        return today + timedelta(days=1), DUE_HOUR
    if when in WEEKDAYS:
        return today + timedelta(days=(WEEKDAYS.index(when) - today.weekday()) % 7), DUE_HOUR
    if when.startswith("end of") and when.endswith("week"):
        return today + timedelta(days=(4 - today.weekday()) % 7), DUE_HOUR
    if when.startswith("end of"):
        return today.replace(day=calendar.monthrange(today.year, today.month)[1]), DUE_HOUR
    if when.startswith("next"):
        return today + timedelta(days=7 - today.weekday() + 4), DUE_HOUR
    try:
        return date.fromisoformat(when), DUE_HOUR
    except ValueError:
        return None


def due_from_intent(intent: str, *, now: datetime, constraints: dict[str, object]) -> datetime | None:
    """The due moment the intent names, if it names one that is still ahead."""
    match = _PHRASE.search(intent)
    if match is None:
        return None
    zone = zone_of(constraints)
    found = _day(re.sub(r"\s+", " ", match.group("when").lower()), now.astimezone(zone).date())
    if found is None:
        return None
    day, hour = found
    due = datetime.combine(day, time(hour), tzinfo=zone)
    when = match.group("when").lower()
    if due <= now and when in WEEKDAYS:
        due += timedelta(days=7)  # "by Friday" on a Friday evening: the next one
    elif due <= now and day == now.astimezone(zone).date():
        due = datetime.combine(day, time(23), tzinfo=zone)  # "by today" late in the day: its end
    return due if due > now else None
