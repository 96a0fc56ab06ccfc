"""A due date read from the intent's own words ("by the end of January"), when the request gives none.

Hand-written grammar, one compiled pattern (no date library: `dateparser` costs 0.56 s to import, ~30 MB of
RSS and 270 ms on its first search, and still reads "by the end of January" as 1 January and neither "by Q2"
nor "mid-March"; see docs/planner.md). What it reads, case-insensitively, anywhere in the text:

- today, tonight, tomorrow, end of (the) day; this / next week (Friday), this / next month (its last day),
  this / next year, the weekend; a weekday after by / before / until / due / on, or after this / next
  ("this Thursday" is the coming one, today included; "next Friday" the Friday of next week);
- month names: "by / in / until January" and "end of January" (its last day), "before March" (the day
  before it starts), "mid-March" (15th), "early March" (10th), "late March" (25th), "start of April";
  the next such month that is still ahead unless a year is given;
- quarters: "by / in / end of Q2 (2027)" (its last day), "start of Q3", "before Q2" (the day before);
- spans: "in two weeks", "within 10 days", "in a month", "over the next 3 days", "two weeks from now",
  "in 4 hours" (that exact moment);
- dates: ISO (2026-12-15) and written ("March 15", "15th of March", "Jan 31, 2027"), the next such day
  when no year is given.

The moment is DUE_HOUR o'clock (tonight: 23:00) in the time zone named by `constraints["timezone"]` (IANA,
e.g. Europe/Berlin), else UTC. The first phrase in the text wins. A phrase that names a moment already
past (a date with its year, "2020-01-01") or no real day ("February 30") gives no due date and a warning.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DUE_HOUR = 17
WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
_MONTHS = {
    **{name: index for index, name in enumerate(calendar.month_name) if name},
    **{name: index for index, name in enumerate(calendar.month_abbr) if name},
    "sept": 9,
}
_MONTH = r"(?:january|february|march|april|may|june|july|august|september|october|november|december|" + (
    r"jan|feb|mar|apr|jun|jul|aug|sept|sep|oct|nov|dec)\.?"
)
_WEEKDAY = r"(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday|mon|tues?|wed|thu(?:rs?)?|fri|sat|sun)"
_NUMBER_WORDS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "couple": 2, "couple of": 2, "few": 3, "a few": 3,
    "a couple of": 2, "fortnight": 2,
}  # fmt: skip
_COUNT = (
    r"(?:\d{1,3}|a\s+couple\s+of|a\s+few|couple\s+of|few|an?|one|two|three|four|five|six|seven|eight|nine|ten|"
    r"eleven|twelve)"
)
_UNIT = r"(?:(?:business|working)\s+days?|days?|weeks?|months?|hours?)"
_YEAR = r"(?:,?\s+(?P<{name}>\d{{4}}))?"
_TRIGGER = r"(?:by|before|until|till|due(?:\s+(?:by|on))?|on|no\s+later\s+than|deadline(?:\s+is)?:?|in)"
_PHRASE = re.compile(
    rf"\b(?:(?P<trig>{_TRIGGER})\s+(?:the\s+)?)?(?:"
    r"(?P<iso>\d{4}-\d{2}-\d{2})"
    rf"|(?P<md_month>{_MONTH})\s+(?P<md_day>\d{{1,2}})(?:st|nd|rd|th)?\b{_YEAR.format(name='md_year')}"
    rf"|(?P<dm_day>\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?(?P<dm_month>{_MONTH}){_YEAR.format(name='dm_year')}"
    r"|(?:(?P<edge>end|start|beginning|middle)\s+of\s+(?:the\s+)?|(?P<part>mid|early|late)[-\s]?)"
    rf"(?:(?P<pmonth>{_MONTH}){_YEAR.format(name='pmonth_year')}|q(?P<pq>[1-4])\b{_YEAR.format(name='pq_year')}"
    r"|(?P<pwhich>this\s+|next\s+)?(?P<punit>day|week|month|quarter|year)\b)"
    rf"|q(?P<q>[1-4])\b{_YEAR.format(name='q_year')}"
    rf"|(?P<rel_count>{_COUNT})\s+(?P<rel_unit>{_UNIT})\s+from\s+(?:now|today)"
    rf"|(?P<within>within|in|over\s+the\s+next|in\s+the\s+next)\s+(?P<count>{_COUNT})\s+(?P<unit>{_UNIT})"
    r"|in\s+a\s+fortnight"
    r"|(?P<word>today|tonight|tomorrow|eod|eow|eom|eoy|year[-\s]end|month[-\s]end)"
    r"|(?P<which>this|next|coming)\s+(?P<span>week(?:end)?|month|quarter|year)"
    rf"|(?:(?P<wmod>this|next|coming)\s+)?(?P<weekday>{_WEEKDAY})\b"
    rf"|(?P<month>{_MONTH}){_YEAR.format(name='month_year')}"
    r"|weekend"
    r")(?![\w-])",
    re.IGNORECASE,
)
_WORD_DAYS = {"eod": "today", "eow": "end of week", "eom": "end of month", "eoy": "end of year"}


@dataclass(frozen=True, slots=True)
class DueReading:
    """What the text says about when it is due: the moment (or None), the words, and why none."""

    due: datetime | None = None
    phrase: str = ""
    start: int = -1
    end: int = -1
    warning: str | None = None


def zone_of(constraints: dict[str, object]) -> ZoneInfo:
    name = constraints.get("timezone")
    if isinstance(name, str):
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return ZoneInfo("UTC")


def _month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def _add_months(day: date, months: int) -> date:
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _count(words: str) -> int:
    words = re.sub(r"\s+", " ", words.lower())
    return int(words) if words.isdigit() else _NUMBER_WORDS.get(words, 1)


def _weekday(name: str) -> int:
    name = name.lower()
    return next(index for index, day in enumerate(WEEKDAYS) if day.startswith(name[:3]))


def _month_no(name: str) -> int:
    name = name.lower().rstrip(".")
    return _MONTHS.get(name.capitalize(), 0) or _MONTHS[name[:3].capitalize()]


class _NotADayError(ValueError):
    """The words name a day that does not exist (February 30)."""


def _next_yearly(today: date, month: int, day_of: int | None, year: str | None, *, before: bool = False) -> date:
    """The day in `month` (its last when `day_of` is None) of the given year, else the next one still ahead."""

    def build(in_year: int) -> date:
        try:
            found = _month_end(in_year, month) if day_of is None else date(in_year, month, day_of)
        except ValueError as error:
            raise _NotADayError(str(error)) from error
        return date(in_year, month, 1) - timedelta(days=1) if before else found

    if year is not None:
        return build(int(year))
    found = build(today.year)
    return found if found >= today else build(today.year + 1)


def _quarter(today: date, quarter: int, year: str | None, edge: str | None) -> date:
    first_month = 3 * quarter - 2
    if edge in ("start", "beginning"):
        return _next_yearly(today, first_month, 1, year)
    if edge == "before":
        return _next_yearly(today, first_month, 1, year, before=True)
    if edge == "middle":
        return _next_yearly(today, first_month + 1, 15, year)
    return _next_yearly(today, 3 * quarter, None, year)


def _period(today: date, edge: str, unit: str, which: str) -> date:
    """end/start/middle of this or next day, week, month, quarter or year."""
    shift = 1 if which == "next" else 0
    if unit == "day":
        return today + timedelta(days=shift)
    if unit == "week":
        monday = today - timedelta(days=today.weekday()) + timedelta(weeks=shift)
        return monday + timedelta(days={"start": 0, "beginning": 0, "middle": 2}.get(edge, 4))
    if unit == "month":
        first = _add_months(today.replace(day=1), shift)
        return {"start": first, "beginning": first, "middle": first.replace(day=15)}.get(
            edge, _month_end(first.year, first.month)
        )
    if unit == "quarter":
        quarter = (today.month - 1) // 3 + 1 + shift
        year = today.year + (quarter - 1) // 4
        quarter = (quarter - 1) % 4 + 1
        return _quarter(date(year, 1, 1), quarter, str(year), edge)
    year = today.year + shift
    return {"start": date(year, 1, 1), "beginning": date(year, 1, 1), "middle": date(year, 6, 30)}.get(
        edge, date(year, 12, 31)
    )


def _resolve(match: re.Match[str], now: datetime, zone: ZoneInfo) -> tuple[datetime | None, bool]:
    """(the moment the phrase names, whether the words fixed the year); None: not a due phrase after all."""
    groups = {key: value for key, value in match.groupdict().items() if value is not None}
    trigger = re.sub(r"\s+", " ", groups.get("trig", "").lower())
    today = now.astimezone(zone).date()
    hour = DUE_HOUR
    exact_year = False
    day: date
    if "iso" in groups:
        try:
            day = date.fromisoformat(groups["iso"])
        except ValueError as error:
            raise _NotADayError(groups["iso"]) from error
        exact_year = True
    elif "md_month" in groups or "dm_month" in groups:
        month = _month_no(groups.get("md_month") or groups["dm_month"])
        year = groups.get("md_year") or groups.get("dm_year")
        day = _next_yearly(today, month, int(groups.get("md_day") or groups["dm_day"]), year)
        exact_year = year is not None
    elif "pmonth" in groups:
        month, year = _month_no(groups["pmonth"]), groups.get("pmonth_year")
        edge = groups.get("edge") or groups.get("part", "")
        day_of = {"start": 1, "beginning": 1, "middle": 15, "mid": 15, "early": 10, "late": 25}.get(edge.lower())
        day, exact_year = _next_yearly(today, month, day_of, year), year is not None
    elif "pq" in groups or "q" in groups:
        if "q" in groups and not trigger:
            return None, False  # "the Q1 newsletter" names no deadline
        quarter, year = int(groups.get("pq") or groups["q"]), groups.get("pq_year") or groups.get("q_year")
        edge = (groups.get("edge") or groups.get("part") or "").lower()
        edge = "before" if trigger == "before" and not edge else {"mid": "middle", "early": "start"}.get(edge, edge)
        day, exact_year = _quarter(today, quarter, year, edge), year is not None
    elif "punit" in groups:
        edge = (groups.get("edge") or groups.get("part") or "end").lower()
        edge = {"mid": "middle", "early": "start", "late": "end"}.get(edge, edge)
        day = _period(today, edge, groups["punit"].lower(), groups.get("pwhich", "").strip().lower())
    elif "count" in groups or "rel_count" in groups:
        count = _count(groups.get("count") or groups["rel_count"])
        unit = (groups.get("unit") or groups["rel_unit"]).lower()
        if unit.startswith("hour"):
            return now + timedelta(hours=count), False
        if unit.startswith(("business", "working")):
            day = today
            while count:
                day += timedelta(days=1)
                count -= day.weekday() < 5
        elif unit.startswith("week"):
            day = today + timedelta(weeks=count)
        elif unit.startswith("month"):
            day = _add_months(today, count)
        else:
            day = today + timedelta(days=count)
    elif match.group(0).lower().endswith("fortnight"):
        day = today + timedelta(weeks=2)
    elif "word" in groups:
        word = re.sub(r"[-\s]+", " ", groups["word"].lower())
        word = _WORD_DAYS.get(word, word)
        if word in ("today", "tonight"):
            day, hour = today, 23 if word == "tonight" else DUE_HOUR
        elif word == "tomorrow":
            day = today + timedelta(days=1)
        else:
            day = _period(today, "end", word.split()[-1].replace("end", "").strip() or word.split()[0], "")
    elif "span" in groups:
        span = groups["span"].lower()
        which = groups["which"].lower()
        if span == "weekend":
            day = today + timedelta(days=(4 if trigger in ("by", "before") else 6) - today.weekday())
            day += timedelta(weeks=1 if which == "next" else 0)
        else:
            # "before next month": the end of this one.
            day = _period(today, "end", span, "next" if which == "next" and trigger != "before" else "")
    elif "weekday" in groups:
        modifier = groups.get("wmod", "").lower()
        if not modifier and trigger not in ("by", "before", "until", "till", "due", "due by", "due on", "on"):
            return None, False  # "Friday night lights"
        wanted = _weekday(groups["weekday"])
        if modifier == "next":
            day = today + timedelta(days=7 - today.weekday() + wanted)
        else:
            day = today + timedelta(days=(wanted - today.weekday()) % 7)
    elif "month" in groups:
        if trigger not in ("by", "before", "until", "till", "due", "due by", "in", "deadline is", "deadline"):
            return None, False  # "the March offsite", "you may"
        month, year = _month_no(groups["month"]), groups.get("month_year")
        day = _next_yearly(today, month, None, year, before=trigger == "before")
        exact_year = year is not None
    else:  # "weekend" alone: only "by the weekend"
        if trigger not in ("by", "before"):
            return None, False
        day = today + timedelta(days=(4 - today.weekday()) % 7)
    return datetime.combine(day, time(hour), tzinfo=zone), exact_year


def read_due(text: str, *, now: datetime, constraints: dict[str, object]) -> DueReading:
    """The first due phrase in the text and the moment it names (None when none, or when it is past)."""
    zone = zone_of(constraints)
    for match in _PHRASE.finditer(text):
        phrase = match.group(0).strip()
        try:
            due, exact_year = _resolve(match, now, zone)
        except _NotADayError:
            return DueReading(None, phrase, match.start(), match.end(), f"'{phrase}' names no real day; no due date")
        if due is None:
            continue
        found = DueReading(due, phrase, match.start(), match.end())
        if due > now:
            return found
        weekday = match.group("weekday") is not None and not match.group("wmod")
        if weekday:  # "by Friday" on a Friday evening: the next one
            return DueReading(due + timedelta(days=7), phrase, match.start(), match.end())
        if due.date() == now.astimezone(zone).date() and not exact_year:
            later = datetime.combine(due.date(), time(23), tzinfo=zone)  # "by today" late in the day: its end
            if later > now:
                return DueReading(later, phrase, match.start(), match.end())
        when = due.date().isoformat()
        warning = f"'{phrase}' names {when}, which is already past; no due date was set (send due_at)"
        return DueReading(None, phrase, match.start(), match.end(), warning)
    return DueReading()


def due_from_intent(intent: str, *, now: datetime, constraints: dict[str, object]) -> datetime | None:
    """The due moment the intent names, if it names one that is still ahead."""
    return read_due(intent, now=now, constraints=constraints).due
