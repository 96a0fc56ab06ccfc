"""The Google Calendar adapter against the fake: sync, busy time, changes, retries and authorisation."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta
from uuid import UUID

import pytest
from google.oauth2.credentials import Credentials

from pma_core.errors import AppError, UnavailableError
from pma_core.testing.fake_google_calendar import FakeGoogleCalendar, Fault
from scheduler_engine.adapters.google_calendar import (
    CalendarAuthorizationError,
    CalendarQuotaExceeded,
    CalendarUnavailableError,
    GoogleCalendar,
    event_id,
)
from scheduler_engine.domain.models import CalendarBlock, CalendarChange, Interval, SyncResult

from .conftest import FAST_RETRY, USER, CredentialsMaker

T0 = datetime(2030, 3, 4, 9, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
WINDOW = Interval(T0 - 2 * HOUR, T0 + 24 * HOUR)


def _block(n: int, *, title: str | None = None, shift: timedelta = timedelta()) -> CalendarBlock:
    start = T0 + n * HOUR + shift
    return CalendarBlock(
        block_id=UUID(int=n + 1), task_id=UUID(int=1000 + n), title=title or f"task {n}", start=start,
        end=start + timedelta(minutes=45), description=f"block {n}",
    )  # fmt: skip


def _ours(fake: FakeGoogleCalendar, *, include_cancelled: bool = False) -> dict[str, dict[str, object]]:
    events = fake.events(USER, include_cancelled=include_cancelled)
    return {str(e["id"]): e for e in events if str(e["id"]).startswith("pma")}


# --- sync ------------------------------------------------------------------------------------------


async def test_sync_creates_our_events_then_leaves_them(
    calendar: GoogleCalendar, fake_google: FakeGoogleCalendar
) -> None:
    blocks = [_block(n) for n in range(4)]
    assert await calendar.sync(USER, blocks, WINDOW) == SyncResult(created=4)
    ours = _ours(fake_google)
    assert set(ours) == {event_id(b.block_id) for b in blocks}
    event = ours[event_id(blocks[0].block_id)]
    assert event["summary"] == "task 0"
    assert event["description"] == "block 0"
    assert event["extendedProperties"] == {
        "private": {
            "pma": "1",
            "pma_block_id": str(blocks[0].block_id),
            "pma_task_id": str(blocks[0].task_id),
            "pma_start": "2030-03-04T09:00:00Z",
            "pma_end": "2030-03-04T09:45:00Z",
        }
    }
    inserts = fake_google.calls["insert"]
    assert await calendar.sync(USER, blocks, WINDOW) == SyncResult(unchanged=4)
    assert fake_google.calls["insert"] == inserts
    assert fake_google.calls["patch"] == 0


async def test_sync_patches_and_deletes_only_ours(calendar: GoogleCalendar, fake_google: FakeGoogleCalendar) -> None:
    await calendar.sync(USER, [_block(n) for n in range(3)], WINDOW)
    mine = fake_google.add_event(USER, summary="task 1", start=T0 + HOUR, end=T0 + 2 * HOUR)
    lookalike = fake_google.add_event(USER, summary="copy", start=T0, end=T0 + HOUR, private={"pma": "1"})
    blocks = [_block(0, title="renamed"), _block(1, shift=timedelta(minutes=30))]
    assert await calendar.sync(USER, blocks, WINDOW) == SyncResult(updated=2, deleted=1)
    ours = _ours(fake_google)
    assert set(ours) == {event_id(b.block_id) for b in blocks}
    assert ours[event_id(blocks[0].block_id)]["summary"] == "renamed"
    moved = ours[event_id(blocks[1].block_id)]
    assert moved["start"] == {"dateTime": "2030-03-04T10:30:00Z"}
    assert moved["sequence"] == 1
    assert moved["extendedProperties"]["private"]["pma_start"] == "2030-03-04T10:30:00Z"  # type: ignore[index]
    for untouched in (mine, lookalike):  # not ours: same etag as the user left it
        assert fake_google.get_event(USER, str(untouched["id"])) == untouched


async def test_sync_leaves_ours_outside_the_window(calendar: GoogleCalendar, fake_google: FakeGoogleCalendar) -> None:
    later = _block(48)
    await calendar.sync(USER, [later], Interval(T0, T0 + 72 * HOUR))
    assert await calendar.sync(USER, [], WINDOW) == SyncResult()
    assert set(_ours(fake_google)) == {event_id(later.block_id)}


async def test_a_rerun_after_a_crash_duplicates_nothing(
    calendar: GoogleCalendar, fake_google: FakeGoogleCalendar
) -> None:
    blocks = [_block(n) for n in range(5)]
    # The 3rd insert's connection drops on every try (httplib2's own resend and each of our attempts).
    fake_google.inject("drop_connection", method="insert", skip=2, times=2 * FAST_RETRY.attempts)
    with pytest.raises(CalendarUnavailableError):
        await calendar.sync(USER, blocks, WINDOW)
    assert len(_ours(fake_google)) == 2
    assert await calendar.sync(USER, blocks, WINDOW) == SyncResult(created=3, unchanged=2)
    assert sorted(_ours(fake_google)) == sorted(event_id(b.block_id) for b in blocks)
    assert len(fake_google.events(USER)) == 5


async def test_a_lost_answer_to_an_insert_duplicates_nothing(
    calendar: GoogleCalendar, fake_google: FakeGoogleCalendar
) -> None:
    blocks = [_block(n) for n in range(3)]
    fake_google.inject("drop_after_apply", method="insert", skip=1)  # created, but the answer is lost
    result = await calendar.sync(USER, blocks, WINDOW)
    assert result == SyncResult(created=2, unchanged=1)  # the 409 of the resend finds it as we want it
    assert sorted(_ours(fake_google)) == sorted(event_id(b.block_id) for b in blocks)
    assert len(fake_google.events(USER)) == 3


async def test_a_cancelled_event_with_our_id_is_restored(
    calendar: GoogleCalendar, fake_google: FakeGoogleCalendar
) -> None:
    block = _block(2)
    await calendar.sync(USER, [block], WINDOW)
    fake_google.delete_event(USER, event_id(block.block_id))  # the user deletes it; Google keeps it cancelled
    again = _block(2, shift=timedelta(hours=3))
    assert await calendar.sync(USER, [again], WINDOW) == SyncResult(created=1)
    event = fake_google.get_event(USER, event_id(block.block_id))
    assert event is not None
    assert event["status"] == "confirmed"
    assert event["start"] == {"dateTime": "2030-03-04T14:00:00Z"}
    assert fake_google.calls["get"] == 1
    assert fake_google.calls["update"] == 1
    assert len(fake_google.events(USER)) == 1


async def test_sync_deletes_ours_then_recreates_on_demand(
    calendar: GoogleCalendar, fake_google: FakeGoogleCalendar
) -> None:
    block = _block(1)
    await calendar.sync(USER, [block], WINDOW)
    assert await calendar.sync(USER, [], WINDOW) == SyncResult(deleted=1)
    assert _ours(fake_google) == {}
    assert await calendar.sync(USER, [block], WINDOW) == SyncResult(created=1)
    assert set(_ours(fake_google)) == {event_id(block.block_id)}


# --- busy ------------------------------------------------------------------------------------------


async def test_busy_leaves_out_ours_transparent_and_cancelled(
    calendar: GoogleCalendar, fake_google: FakeGoogleCalendar
) -> None:
    await calendar.sync(USER, [_block(5)], WINDOW)
    fake_google.add_event(USER, summary="meeting", start=T0, end=T0 + HOUR)
    fake_google.add_event(USER, summary="overlapping", start=T0 + HOUR / 2, end=T0 + 2 * HOUR)
    fake_google.add_event(USER, summary="free", start=T0 + 3 * HOUR, end=T0 + 4 * HOUR, transparent=True)
    cancelled = fake_google.add_event(USER, summary="called off", start=T0 + 6 * HOUR, end=T0 + 7 * HOUR)
    fake_google.delete_event(USER, str(cancelled["id"]))
    fake_google.add_event(USER, summary="outside", start=T0 + 30 * HOUR, end=T0 + 31 * HOUR)
    fake_google.add_event(
        USER,
        summary="zurich",
        start=datetime(2030, 3, 4, 19, 0),
        end=datetime(2030, 3, 4, 20, 0),
        time_zone="Europe/Zurich",
    )
    busy = await calendar.busy(USER, WINDOW, ["primary"])
    assert busy == [Interval(T0, T0 + 2 * HOUR), Interval(T0 + 9 * HOUR, T0 + 10 * HOUR)]


async def test_busy_reads_every_calendar_and_all_day_events(
    calendar: GoogleCalendar, fake_google: FakeGoogleCalendar
) -> None:
    team = "team@group.calendar.google.com"
    fake_google.add_calendar(USER, team)
    fake_google.add_event(USER, summary="offsite", start=date(2030, 3, 5), end=date(2030, 3, 6), calendar_id=team)
    for n in range(4):  # more than a page (page_size=3)
        fake_google.add_event(USER, summary=f"m{n}", start=T0 + 2 * n * HOUR, end=T0 + (2 * n + 1) * HOUR)
    busy = await calendar.busy(USER, WINDOW, ["primary", team, "gone@group.calendar.google.com"])
    meetings = [Interval(T0 + 2 * n * HOUR, T0 + (2 * n + 1) * HOUR) for n in range(4)]
    assert busy == [*meetings, Interval(datetime(2030, 3, 5, tzinfo=UTC), WINDOW.end)]  # clipped to the window


# --- changes ---------------------------------------------------------------------------------------


async def test_changes_reports_moves_and_deletions_of_ours(
    calendar: GoogleCalendar, fake_google: FakeGoogleCalendar
) -> None:
    blocks = [_block(n) for n in range(4)]
    await calendar.sync(USER, blocks, WINDOW)
    first = await calendar.changes(USER, None)
    assert first.changes == ()
    assert first.cursor
    assert not first.full_resync
    new_start = T0 + 10 * HOUR
    fake_google.move_event(USER, event_id(blocks[0].block_id), start=new_start, end=new_start + HOUR)
    fake_google.delete_event(USER, event_id(blocks[1].block_id))
    fake_google.edit_event(USER, event_id(blocks[2].block_id), {"summary": "renamed by the user"})
    fake_google.add_event(USER, summary="dentist", start=T0, end=T0 + HOUR)
    batch = await calendar.changes(USER, first.cursor)
    assert batch.changes == (
        CalendarChange(blocks[0].block_id, "moved", start=new_start, end=new_start + HOUR),
        CalendarChange(blocks[1].block_id, "deleted"),
    )
    assert batch.cursor
    assert batch.cursor != first.cursor
    assert not batch.full_resync
    assert (await calendar.changes(USER, batch.cursor)).changes == ()


async def test_our_own_writes_are_not_changes(calendar: GoogleCalendar, fake_google: FakeGoogleCalendar) -> None:
    blocks = [_block(n) for n in range(2)]
    cursor = (await calendar.changes(USER, None)).cursor
    await calendar.sync(USER, blocks, WINDOW)
    await calendar.sync(USER, [_block(0, shift=HOUR), blocks[1]], WINDOW)
    batch = await calendar.changes(USER, cursor)
    assert batch.changes == ()


async def test_a_move_is_reported_once_when_sync_keeps_it(
    calendar: GoogleCalendar, fake_google: FakeGoogleCalendar
) -> None:
    block = _block(0)
    await calendar.sync(USER, [block], WINDOW)
    cursor = (await calendar.changes(USER, None)).cursor
    fake_google.move_event(USER, event_id(block.block_id), start=T0 + 5 * HOUR, end=T0 + 6 * HOUR)
    batch = await calendar.changes(USER, cursor)
    assert [change.kind for change in batch.changes] == ["moved"]
    # The engine pins the block where the user put it: only our record of the times needs writing.
    pinned = CalendarBlock(
        block.block_id, block.task_id, block.title, T0 + 5 * HOUR, T0 + 6 * HOUR, 1, block.description
    )
    assert await calendar.sync(USER, [pinned], WINDOW) == SyncResult(updated=1)
    assert (await calendar.changes(USER, batch.cursor)).changes == ()
    assert await calendar.sync(USER, [pinned], WINDOW) == SyncResult(unchanged=1)


async def test_a_stale_cursor_means_a_full_resync(calendar: GoogleCalendar, fake_google: FakeGoogleCalendar) -> None:
    blocks = [_block(n) for n in range(2)]
    await calendar.sync(USER, blocks, WINDOW)
    cursor = (await calendar.changes(USER, None)).cursor
    fake_google.move_event(USER, event_id(blocks[1].block_id), start=T0, end=T0 + HOUR)
    fake_google.invalidate_sync_tokens(USER)
    batch = await calendar.changes(USER, cursor)
    assert batch.full_resync
    assert batch.cursor
    assert batch.cursor != cursor
    assert batch.changes == (CalendarChange(blocks[1].block_id, "moved", start=T0, end=T0 + HOUR),)
    assert (await calendar.changes(USER, batch.cursor)).changes == ()


async def test_changes_never_sends_filters_with_the_sync_token(
    calendar: GoogleCalendar, fake_google: FakeGoogleCalendar
) -> None:
    cursor = (await calendar.changes(USER, None)).cursor
    await calendar.changes(USER, cursor)
    incremental = [c for c in fake_google.recorded if c.method == "list" and dict(c.query).get("syncToken")]
    assert incremental
    for call in incremental:
        assert {"timeMin", "timeMax", "privateExtendedProperty"}.isdisjoint(dict(call.query))


# --- retries, quota, authorisation -----------------------------------------------------------------


@pytest.mark.parametrize(
    "fault", ["rate_limit_429", "rate_limit_403", "user_rate_limit_403", "backend_500", "backend_503"]
)
async def test_transient_errors_are_retried_with_backoff(
    calendar: GoogleCalendar, fake_google: FakeGoogleCalendar, backoff_waits: list[float], fault: Fault
) -> None:
    fake_google.inject(fault, method="list", times=FAST_RETRY.attempts - 1)
    assert await calendar.sync(USER, [_block(0)], WINDOW) == SyncResult(created=1)
    assert fake_google.calls["list"] == FAST_RETRY.attempts
    assert len(backoff_waits) == FAST_RETRY.attempts - 1
    for n, wait in enumerate(backoff_waits, start=1):  # exponential, capped, jittered in [half, full]
        ceiling = min(FAST_RETRY.max_delay, FAST_RETRY.base_delay * 2 ** (n - 1))
        assert ceiling / 2 <= wait <= ceiling


async def test_retries_give_up_after_the_last_attempt(
    calendar: GoogleCalendar, fake_google: FakeGoogleCalendar
) -> None:
    fake_google.inject("backend_503", method="list", times=FAST_RETRY.attempts)
    with pytest.raises(CalendarUnavailableError) as exc:
        await calendar.busy(USER, WINDOW, ["primary"])
    assert isinstance(exc.value, UnavailableError)
    assert exc.value.status_code == 503
    assert fake_google.calls["list"] == FAST_RETRY.attempts


async def test_quota_exceeded_raises_at_once(
    calendar: GoogleCalendar, fake_google: FakeGoogleCalendar, backoff_waits: list[float]
) -> None:
    fake_google.inject("quota_exceeded_403", method="list", times=FAST_RETRY.attempts)
    with pytest.raises(CalendarQuotaExceeded) as exc:
        await calendar.sync(USER, [_block(0)], WINDOW)
    assert isinstance(exc.value, UnavailableError)
    assert exc.value.user_id == USER
    assert fake_google.calls["list"] == 1
    assert backoff_waits == []


async def test_an_expired_access_token_is_refreshed_quietly(
    calendar: GoogleCalendar, fake_google: FakeGoogleCalendar
) -> None:
    fake_google.inject("unauthorized_401", method="list")  # Google stops accepting the access token once
    assert await calendar.sync(USER, [_block(0)], WINDOW) == SyncResult(created=1)
    assert fake_google.calls["token"] == 2


async def test_a_revoked_grant_asks_to_reauthorise(
    calendar: GoogleCalendar, fake_google: FakeGoogleCalendar, refresh_token: str, caplog: pytest.LogCaptureFixture
) -> None:
    fake_google.revoke_refresh_token(refresh_token)
    caplog.set_level(logging.DEBUG, logger="scheduler_engine")
    with pytest.raises(CalendarAuthorizationError) as exc:
        await calendar.sync(USER, [_block(0)], WINDOW)
    error = exc.value
    assert isinstance(error, AppError)
    assert error.code == "google_reauthorization_required"
    assert error.status_code == 409
    assert error.user_id == USER
    assert "/v1/oauth/google/start" in error.message
    assert "pma google-auth" in error.message
    assert refresh_token not in f"{error} {error!r} {error.details} {error.__cause__!r}"
    assert error.__cause__ is None
    assert error.__suppress_context__
    assert fake_google.calls["list"] == 0  # the refresh failed before any call


async def test_a_401_that_survives_the_refresh_asks_to_reauthorise(
    calendar: GoogleCalendar, fake_google: FakeGoogleCalendar, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="scheduler_engine")
    fake_google.inject("unauthorized_401", method="list", times=10)
    with pytest.raises(CalendarAuthorizationError):
        await calendar.busy(USER, WINDOW, ["primary"])
    assert fake_google.calls["list"] == 3  # the call, then google-auth's two refresh-and-retries
    tokens = [value for call in fake_google.recorded for _, value in call.query if value.startswith(("ya29", "1//"))]
    assert tokens == []
    assert "ya29." not in caplog.text
    assert "1//" not in caplog.text


async def test_a_dropped_connection_is_retried(calendar: GoogleCalendar, fake_google: FakeGoogleCalendar) -> None:
    fake_google.inject("drop_connection", method="list", times=3)  # httplib2 resends once; we retry the rest
    assert await calendar.sync(USER, [_block(0)], WINDOW) == SyncResult(created=1)
    assert fake_google.calls["list"] == 4


async def test_users_are_kept_apart(
    fake_google: FakeGoogleCalendar, refresh_token: str, make_credentials: CredentialsMaker
) -> None:
    tokens = {USER: refresh_token, "bob@example.com": fake_google.add_user("bob@example.com")}

    async def credentials_for(user_id: str) -> Credentials:
        return make_credentials(tokens[user_id])

    calendar = GoogleCalendar(credentials_for, api_endpoint=fake_google.url, retry=FAST_RETRY)
    await calendar.sync(USER, [_block(0)], WINDOW)
    assert await calendar.sync("bob@example.com", [_block(1)], WINDOW) == SyncResult(created=1)
    assert [e["id"] for e in fake_google.events(USER)] == [event_id(_block(0).block_id)]
    assert [e["id"] for e in fake_google.events("bob@example.com")] == [event_id(_block(1).block_id)]
