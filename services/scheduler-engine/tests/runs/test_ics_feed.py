"""The ICS feed: a secret URL, stable UIDs, SEQUENCE on moves, UTC times, ETag / 304, refresh hints."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import httpx
from icalendar import Calendar

from pma_core.clients import SchedulerEngineClient
from pma_core.contracts.scheduling import RunCreate, RunRead, RunTask

from .conftest import finished_run

USER = "alice"


async def _schedule(scheduler: SchedulerEngineClient, tasks: list[RunTask]) -> RunRead:
    tomorrow = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
    run = RunCreate(user_id=USER, tasks=tasks, window_start=tomorrow, window_days=7)
    return await finished_run(scheduler, USER, (await scheduler.create_run(run)).run_id)


async def test_the_feed_lists_each_block_once_by_its_id(scheduler: SchedulerEngineClient) -> None:
    tasks = [RunTask(id=uuid.uuid4(), title="Write the pricing copy", estimate_minutes=60)]
    (block,) = (await _schedule(scheduler, tasks)).blocks
    url = await scheduler.feed_url(USER)
    assert await scheduler.feed_url(USER) == url  # the token is minted once
    async with httpx.AsyncClient() as http:
        response = await http.get(url)
        again = await http.get(url, headers={"If-None-Match": response.headers["etag"]})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/calendar")
    calendar = Calendar.from_ical(response.content)
    assert str(calendar["refresh-interval"].to_ical().decode()) == "PT1H"
    (event,) = calendar.walk("VEVENT")
    assert str(event["uid"]) == str(block.id)
    assert str(event["summary"]) == "Write the pricing copy"
    assert event.decoded("dtstart") == block.start
    assert event.decoded("dtstart").tzinfo is not None
    assert event.decoded("dtstart").utcoffset() == timedelta(0)
    assert int(event["sequence"]) == 0
    assert again.status_code == 304


async def test_a_wrong_token_is_404_and_reveals_nothing(scheduler: SchedulerEngineClient) -> None:
    url = await scheduler.feed_url(USER)
    async with httpx.AsyncClient() as http:
        wrong = await http.get(url.split("?token=")[0] + "?token=" + "x" * 43)
        other_user = await http.get(url.replace(f"/{USER}.ics", "/bob.ics"))
    assert (wrong.status_code, other_user.status_code) == (404, 404)
    assert "VCALENDAR" not in wrong.text


async def test_a_token_with_non_ascii_characters_is_404_not_500(scheduler: SchedulerEngineClient) -> None:
    url = await scheduler.feed_url(USER)
    async with httpx.AsyncClient() as http:
        response = await http.get(url.split("?token=")[0], params={"token": "ünïcode-tökén"})
    assert response.status_code == 404
