"""Due dates read from the intent's words: which phrases, which moment, in which zone."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from planner_engine.domain.due import DueReading, due_from_intent, read_due

# A Tuesday, 09:30 UTC.
NOW = datetime(2026, 11, 24, 9, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("intent", "expected"),
    [
        ("Launch the Q1 newsletter by Friday", datetime(2026, 11, 27, 17, tzinfo=UTC)),
        ("Send the invoice by Tuesday", datetime(2026, 11, 24, 17, tzinfo=UTC)),
        ("Send the invoice by monday", datetime(2026, 11, 30, 17, tzinfo=UTC)),
        ("Renew the domain by tomorrow", datetime(2026, 11, 25, 17, tzinfo=UTC)),
        ("Reply to Sam before tonight", datetime(2026, 11, 24, 23, tzinfo=UTC)),
        ("Ship the fix by end of the week", datetime(2026, 11, 27, 17, tzinfo=UTC)),
        ("Close the books by end of month", datetime(2026, 11, 30, 17, tzinfo=UTC)),
        ("Draft the talk by next week", datetime(2026, 12, 4, 17, tzinfo=UTC)),
        ("File taxes due 2026-12-15", datetime(2026, 12, 15, 17, tzinfo=UTC)),
    ],
)
def test_named_moments(intent: str, expected: datetime) -> None:
    assert due_from_intent(intent, now=NOW, constraints={}) == expected


@pytest.mark.parametrize(
    "intent",
    ["Launch the newsletter", "Write about Friday night lights", "File taxes due 2020-01-01", "Plan by someday"],
)
def test_no_phrase_or_a_moment_past_gives_none(intent: str) -> None:
    assert due_from_intent(intent, now=NOW, constraints={}) is None


def test_the_users_time_zone_sets_the_hour() -> None:
    due = due_from_intent("Launch by Friday", now=NOW, constraints={"timezone": "Europe/Berlin"})
    assert due is not None
    assert due.astimezone(UTC) == datetime(2026, 11, 27, 16, tzinfo=UTC)


def test_an_unknown_time_zone_falls_back_to_utc() -> None:
    due = due_from_intent("Launch by Friday", now=NOW, constraints={"timezone": "Mars/Olympus"})
    assert due == datetime(2026, 11, 27, 17, tzinfo=UTC)


def test_today_after_five_means_the_end_of_today() -> None:
    evening = datetime(2026, 11, 24, 18, tzinfo=UTC)
    assert due_from_intent("Send it by today", now=evening, constraints={}) == datetime(2026, 11, 24, 23, tzinfo=UTC)


def test_a_weekday_whose_hour_has_passed_today_means_next_week() -> None:
    friday_evening = datetime(2026, 11, 27, 18, tzinfo=UTC)
    assert due_from_intent("Launch by Friday", now=friday_evening, constraints={}) == datetime(
        2026, 12, 4, 17, tzinfo=UTC
    )


# Tuesday 1 December 2026, 09:00 UTC: the phrases people use, in the user's time zone.
DEC = datetime(2026, 12, 1, 9, tzinfo=UTC)


@pytest.mark.parametrize(
    ("intent", "day"),
    [
        ("Launch the tier by the end of January, with a pricing page", "2027-01-31"),
        ("Plan the offsite mid-March", "2027-03-15"),
        ("Hire a designer by Q2", "2027-06-30"),
        ("Close the books at the end of Q1", "2027-03-31"),
        ("Ship it before Q2", "2027-03-31"),
        ("Organise a hackathon in Q1 2027", "2027-03-31"),
        ("Write it in two weeks", "2026-12-15"),
        ("Reply within 10 days", "2026-12-11"),
        ("Send it in 3 business days", "2026-12-04"),
        ("Demo it next Friday", "2026-12-11"),
        ("Call them this Thursday", "2026-12-03"),
        ("Book it by March 15", "2027-03-15"),
        ("Book it on 3rd April", "2027-04-03"),
        ("Submit due Jan 31, 2027", "2027-01-31"),
        ("Cut costs before next month", "2026-12-31"),
        ("Finish by next month", "2027-01-31"),
        ("Tidy up by the weekend", "2026-12-04"),
        ("Decide in a fortnight", "2026-12-15"),
        ("Ship by year-end", "2026-12-31"),
        ("Send it by May", "2027-05-31"),
    ],
)
def test_phrases_people_use(intent: str, day: str) -> None:
    due = due_from_intent(intent, now=DEC, constraints={"timezone": "Europe/Berlin"})
    assert due is not None
    assert (due.date().isoformat(), due.hour, str(due.tzinfo)) == (day, 17, "Europe/Berlin")


@pytest.mark.parametrize(
    "intent", ["Launch the Q1 newsletter", "Plan the March offsite", "You may go", "Launch the product on Mars"]
)
def test_words_that_only_look_like_dates(intent: str) -> None:
    assert read_due(intent, now=DEC, constraints={}) == DueReading()


def test_a_date_that_cannot_be_meant_in_the_future_is_a_warning() -> None:
    past = read_due("File taxes by 2025-06-01", now=DEC, constraints={})
    assert (past.due, past.phrase) == (None, "by 2025-06-01")
    assert past.warning == "'by 2025-06-01' names 2025-06-01, which is already past; no due date was set (send due_at)"
    impossible = read_due("Pay by February 30", now=DEC, constraints={})
    assert impossible.due is None
    assert impossible.warning == "'by February 30' names no real day; no due date"


def test_the_phrase_and_its_place_are_reported() -> None:
    text = "Launch the tier by the end of January, with a pricing page"
    found = read_due(text, now=DEC, constraints={})
    assert (found.phrase, text[found.start : found.end]) == ("by the end of January", "by the end of January")
    assert read_due("Ship in 4 hours", now=DEC, constraints={}).due == datetime(2026, 12, 1, 13, tzinfo=UTC)
