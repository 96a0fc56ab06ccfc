"""GET /v1/busy: the user's busy time on their own Google calendars (the fake), never our own blocks; when
Google fails the answer is still a 200 that says so; without Google the source is "none"."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from pma_core.clients import SchedulerEngineClient
from pma_core.contracts.scheduling import (
    WEEKDAYS,
    BusyInterval,
    RunCreate,
    RunTask,
    SchedulingProfile,
    TimeWindow,
)
from pma_core.testing.fake_google_calendar import FakeGoogleCalendar, Fault
from pma_core.testing.serve import serve
from scheduler_engine.adapters.google_calendar import event_id
from scheduler_engine.main import READ_RETRY, create_app
from scheduler_engine.settings import GoogleSettings, Settings

from .conftest import finished_run

USER = "ada"
MORNINGS = {day: [TimeWindow(start="09:00", end="13:00")] for day in WEEKDAYS}
TOMORROW = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
DAY = (TOMORROW, TOMORROW + timedelta(days=1))


@dataclass
class OnGoogle:
    scheduler: SchedulerEngineClient
    google: FakeGoogleCalendar
    refresh_token: str


@pytest.fixture
def google() -> Iterator[FakeGoogleCalendar]:
    with FakeGoogleCalendar() as server:
        yield server


@pytest.fixture
async def on_google(
    scheduler_settings: Settings, scheduler_port: int, google: FakeGoogleCalendar
) -> AsyncIterator[OnGoogle]:
    """The scheduler with `USER` connected to the fake Google Calendar (from the environment's settings). Its
    sweep waits, so that the faults a test injects are met by the read under test, not by the sweep's."""
    token = google.add_user(USER)
    settings = scheduler_settings.model_copy(
        update={
            "google": GoogleSettings(
                client_id=google.client_id, client_secret=google.client_secret, refresh_token=token, user_id=USER,
                token_uri=google.token_url, api_endpoint=google.url,
            ),
            "scheduler": scheduler_settings.scheduler.model_copy(update={"sweep_interval_seconds": 3600.0}),
        }
    )  # fmt: skip
    async with serve(create_app(settings), port=scheduler_port) as url:
        client = SchedulerEngineClient(url, timeout=15.0, retries=0)
        try:
            yield OnGoogle(client, google, token)
        finally:
            await client.aclose()


def at(hours: float) -> datetime:
    return TOMORROW + timedelta(hours=hours)


async def test_meetings_are_busy_and_our_own_blocks_are_not(on_google: OnGoogle) -> None:
    scheduler, google = on_google.scheduler, on_google.google
    await scheduler.put_profile(USER, SchedulingProfile(working_hours=MORNINGS, lunch=None, buffer_minutes=0))
    google.add_event(USER, summary="Standup", start=at(10), end=at(11))
    google.add_event(USER, summary="Review", start=at(10.5), end=at(11.5))  # overlaps: merged
    google.add_event(USER, summary="Focus time (free)", start=at(14), end=at(15), transparent=True)
    google.add_event(USER, summary="Yesterday", start=at(-20), end=at(-19))  # outside the window
    request = RunCreate(user_id=USER, tasks=[RunTask(id=uuid.uuid4(), title="Write", estimate_minutes=60)],
                        window_start=TOMORROW, window_days=1)  # fmt: skip
    run = await finished_run(scheduler, USER, (await scheduler.create_run(request)).run_id)
    (placed,) = run.blocks
    assert google.get_event(USER, event_id(placed.id)) is not None  # our block is on their calendar

    busy = await scheduler.busy(USER, *DAY)

    assert (busy.source, busy.available, busy.error) == ("google", True, None)
    assert busy.intervals == [BusyInterval(start=at(10), end=at(11.5))]
    clipped = await scheduler.busy(USER, at(10.25), at(10.75))
    assert clipped.intervals == [BusyInterval(start=at(10.25), end=at(10.75))]


@pytest.mark.parametrize(
    ("fault", "words"), [("backend_503", "HTTP 503"), ("rate_limit_429", "HTTP 429"), ("backend_500", "HTTP 500")]
)
async def test_google_failing_is_an_answer_not_an_error(on_google: OnGoogle, fault: Fault, words: str) -> None:
    scheduler, google = on_google.scheduler, on_google.google
    google.add_event(USER, summary="Standup", start=at(10), end=at(11))
    google.inject(fault, method="list", times=READ_RETRY.attempts)

    started = time.monotonic()
    busy = await scheduler.busy(USER, *DAY)

    assert time.monotonic() - started < 4.0  # a short retry budget: the caller's timeout is not reached
    assert (busy.source, busy.available, busy.intervals) == ("google", False, [])
    assert busy.error is not None
    assert "kept failing" in busy.error
    assert words in busy.error
    assert google.pending_faults() == 0
    # Google is back: the next read answers.
    assert (await scheduler.busy(USER, *DAY)).intervals == [BusyInterval(start=at(10), end=at(11))]


async def test_a_revoked_grant_says_to_reauthorise(on_google: OnGoogle) -> None:
    on_google.google.revoke_refresh_token(on_google.refresh_token)

    busy = await on_google.scheduler.busy(USER, *DAY)

    assert (busy.source, busy.available, busy.intervals) == ("google", False, [])
    assert busy.error is not None
    assert "revoked or has expired" in busy.error
    assert on_google.refresh_token not in busy.error


async def test_a_user_without_google_has_no_calendar_to_read(on_google: OnGoogle) -> None:
    busy = await on_google.scheduler.busy("bob", *DAY)
    assert (busy.source, busy.available, busy.intervals, busy.error) == ("none", True, [], None)


async def test_without_google_at_all_everyone_is_on_the_feed(scheduler: SchedulerEngineClient) -> None:
    busy = await scheduler.busy(USER, *DAY)
    assert (busy.source, busy.available, busy.intervals) == ("none", True, [])


async def test_the_window_is_at_most_31_days(scheduler: SchedulerEngineClient) -> None:
    async with httpx.AsyncClient(base_url=scheduler.base_url, timeout=15.0) as http:
        params = {"user_id": USER, "from": TOMORROW.isoformat()}
        ok = await http.get("/v1/busy", params=params | {"to": (TOMORROW + timedelta(days=31)).isoformat()})
        long = await http.get("/v1/busy", params=params | {"to": (TOMORROW + timedelta(days=32)).isoformat()})
        empty = await http.get("/v1/busy", params=params | {"to": TOMORROW.isoformat()})
    assert ok.status_code == 200
    assert (long.status_code, empty.status_code) == (422, 422)
    assert "longer than 31 days" in long.json()["error"]["message"]
    assert "from must be before to" in empty.json()["error"]["message"]
