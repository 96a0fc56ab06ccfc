"""Deleting a user: their runs, blocks, feed token and profile go, in one transaction; another user's stay."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from pma_core.clients import SchedulerEngineClient
from pma_core.clients.base import RemoteServiceError
from pma_core.contracts.scheduling import RunCreate, RunTask, SchedulingProfile

from .conftest import finished_run


async def _scheduled_user(scheduler: SchedulerEngineClient, user_id: str) -> str:
    """A user with a profile, one finished run with its block, and an ICS feed; the feed's URL."""
    await scheduler.put_profile(user_id, SchedulingProfile(time_zone="Europe/Berlin"))
    tomorrow = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
    tasks = [RunTask(id=uuid.uuid4(), title="Write the pricing copy", estimate_minutes=60)]
    run = RunCreate(user_id=user_id, tasks=tasks, window_start=tomorrow, window_days=7)
    await finished_run(scheduler, user_id, (await scheduler.create_run(run)).run_id)
    return await scheduler.feed_url(user_id)


async def test_deleting_a_user_removes_everything_of_theirs_and_nothing_else(scheduler: SchedulerEngineClient) -> None:
    alice_feed = await _scheduled_user(scheduler, "alice")
    bob_feed = await _scheduled_user(scheduler, "bob")

    deleted = await scheduler.delete_user("alice")
    assert {table: deleted[table] for table in ("scheduler_runs", "calendar_blocks", "calendar_feeds")} == {
        "scheduler_runs": 1, "calendar_blocks": 1, "calendar_feeds": 1,
    }  # fmt: skip
    assert deleted["scheduling_profiles"] == 1

    now = datetime.now(UTC)
    assert (await scheduler.list_blocks("alice", now, now + timedelta(days=9))).blocks == []
    assert (await scheduler.get_profile("alice")).time_zone != "Europe/Berlin"  # back to the defaults
    async with httpx.AsyncClient() as http:
        assert (await http.get(alice_feed)).status_code == 404  # the old secret URL is dead
        assert (await http.get(bob_feed)).text.count("BEGIN:VEVENT") == 1
    assert len((await scheduler.list_blocks("bob", now, now + timedelta(days=9))).blocks) == 1

    # Idempotent: nothing left to delete is zeros, not an error.
    assert set((await scheduler.delete_user("alice")).values()) == {0}


async def test_a_bad_user_id_is_a_422(scheduler: SchedulerEngineClient) -> None:
    with pytest.raises(RemoteServiceError) as refused:
        await scheduler.delete_user("no spaces allowed")
    assert refused.value.status_code == 422
