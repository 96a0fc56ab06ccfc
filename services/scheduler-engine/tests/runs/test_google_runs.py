"""Runs onto the fake Google Calendar, end to end: busy time avoided, our events written by id, the user's
moves kept (pinned) and deletions not recreated, both listed as changes."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta

import pytest

from pma_core.clients import SchedulerEngineClient
from pma_core.contracts.scheduling import RunCreate, RunRead, RunTask, SchedulingProfile, TimeWindow
from pma_core.testing.fake_google_calendar import FakeGoogleCalendar
from pma_core.testing.serve import serve
from scheduler_engine.adapters.google_calendar import event_id
from scheduler_engine.main import create_app
from scheduler_engine.settings import GoogleSettings, Settings

from .conftest import finished_run

USER = "ada"
MORNINGS = {day: [TimeWindow(start="09:00", end="13:00")] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
TOMORROW = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)


@pytest.fixture
def google() -> Iterator[FakeGoogleCalendar]:
    with FakeGoogleCalendar() as server:
        yield server


@pytest.fixture
async def scheduler_on_google(
    scheduler_settings: Settings, scheduler_port: int, google: FakeGoogleCalendar
) -> AsyncIterator[SchedulerEngineClient]:
    token = google.add_user(USER)
    settings = scheduler_settings.model_copy(
        update={
            "google": GoogleSettings(
                client_id=google.client_id,
                client_secret=google.client_secret,
                refresh_token=token,
                user_id=USER,
                token_uri=google.token_url,
                api_endpoint=google.url,
            )
        }
    )
    async with serve(create_app(settings), port=scheduler_port) as url:
        client = SchedulerEngineClient(url, timeout=15.0, retries=0)
        try:
            yield client
        finally:
            await client.aclose()


async def _run(scheduler: SchedulerEngineClient, tasks: list[RunTask]) -> RunRead:
    request = RunCreate(user_id=USER, tasks=tasks, window_start=TOMORROW, window_days=2)
    return await finished_run(scheduler, USER, (await scheduler.create_run(request)).run_id)


def _ours(google: FakeGoogleCalendar) -> dict[str, dict[str, object]]:
    return {str(e["id"]): e for e in google.events(USER) if str(e["id"]).startswith("pma")}


async def test_blocks_go_to_google_around_meetings_and_the_users_changes_stick(
    scheduler_on_google: SchedulerEngineClient, google: FakeGoogleCalendar
) -> None:
    scheduler = scheduler_on_google
    await scheduler.put_profile(
        USER, SchedulingProfile(working_hours=MORNINGS, lunch=None, buffer_minutes=0, freeze_hours=0)
    )
    meeting = google.add_event(
        USER, summary="Standup", start=TOMORROW + timedelta(hours=10), end=TOMORROW + timedelta(hours=11)
    )
    tasks = [RunTask(id=uuid.uuid4(), title=f"Focus {i}", estimate_minutes=60) for i in range(3)]

    first = await _run(scheduler, tasks)
    assert first.status == "succeeded"
    assert first.calendar_error is None
    assert all(
        not (b.start < TOMORROW + timedelta(hours=11) and b.end > TOMORROW + timedelta(hours=10)) for b in first.blocks
    )
    ours = _ours(google)
    assert set(ours) == {event_id(b.id) for b in first.blocks}
    assert google.get_event(USER, str(meeting["id"]))["summary"] == "Standup"  # never touched

    # The user moves one block to the next morning and deletes another.
    moved, deleted, kept = first.blocks
    new_start = TOMORROW + timedelta(days=1, hours=9)
    google.move_event(USER, event_id(moved.id), start=new_start, end=new_start + timedelta(hours=1))
    google.delete_event(USER, event_id(deleted.id))

    second = await _run(scheduler, tasks)
    by_id = {b.id: b for b in second.blocks}
    assert (by_id[moved.id].start, by_id[moved.id].pinned) == (new_start, True)  # kept where the user put it
    assert deleted.id not in by_id  # not recreated ...
    assert {t.task_id for t in second.unscheduled} == {deleted.task_id}  # ... its task needs attention
    assert (by_id[kept.id].start, by_id[kept.id].end) == (kept.start, kept.end)
    assert _ours(google)[event_id(moved.id)]["start"]["dateTime"].startswith(new_start.strftime("%Y-%m-%dT%H:%M"))  # type: ignore[index]
    assert len(_ours(google)) == 2  # no duplicate, the deleted one stays deleted

    changes = await scheduler.changes(USER)
    assert sorted((c.kind, c.block_id) for c in changes.changes) == sorted(
        [("moved", moved.id), ("deleted", deleted.id)]
    )

    # Asked to, it places the deleted task again.
    again = RunCreate(user_id=USER, tasks=tasks, window_start=TOMORROW, window_days=2, restore_deleted=True)
    third = await finished_run(scheduler, USER, (await scheduler.create_run(again)).run_id)
    assert third.unscheduled == []
    assert third.calendar_error is None, third.calendar_error
    assert len(_ours(google)) == 3
