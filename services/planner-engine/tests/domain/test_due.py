"""Due dates read from the intent's words: which phrases, which moment, in which zone."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from planner_engine.domain.due import due_from_intent

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
