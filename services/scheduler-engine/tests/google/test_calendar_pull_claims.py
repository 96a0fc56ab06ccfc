"""The sweep's read of a user's Google calendar is claimed: with two replicas sweeping at once, the user's
calendar is read once per sweep interval, not once per replica; a replica that died holding the claim
leaves it to expire; a run's own read never waits for it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import pytest
from pydantic import SecretStr

from pma_core.postgres import open_pool
from pma_core.settings import PostgresSettings
from pma_core.testing.fake_google_calendar import FakeGoogleCalendar
from scheduler_engine.adapters.blocks import BlockRepository
from scheduler_engine.adapters.google_calendar import GoogleCalendar
from scheduler_engine.adapters.profiles import SyncStateRepository
from scheduler_engine.domain.changes import CalendarWatcher

from .conftest import USER


@pytest.fixture
async def watchers(postgres_url: str) -> AsyncIterator[tuple[CalendarWatcher, CalendarWatcher]]:
    """The watcher of each of two replicas, each over its own pool."""
    settings = PostgresSettings(url=SecretStr(postgres_url), pool_max_size=2)
    pools: list[asyncpg.Pool] = [await open_pool(settings), await open_pool(settings)]
    yield tuple(CalendarWatcher(state=SyncStateRepository(p), sink=BlockRepository(p)) for p in pools)  # type: ignore[misc]
    for pool in pools:
        await pool.close()


async def test_two_replicas_sweeping_at_once_read_the_users_calendar_once(
    watchers: tuple[CalendarWatcher, CalendarWatcher], calendar: GoogleCalendar, fake_google: FakeGoogleCalendar
) -> None:
    first, second = watchers
    for _ in range(3):  # round after round within one interval: the first read stands for all of them
        await asyncio.gather(*(w.sweep([USER], calendar, every_seconds=60) for w in (first, second)))
    assert fake_google.calls["list"] == 1


async def test_a_claim_whose_replica_died_expires_and_a_runs_own_read_never_waits_for_it(
    watchers: tuple[CalendarWatcher, CalendarWatcher], calendar: GoogleCalendar, fake_google: FakeGoogleCalendar
) -> None:
    dead, survivor = watchers
    assert await dead.state.claim_pull(USER, lease_seconds=0.05)  # ... and the replica dies reading
    await survivor.sweep([USER], calendar, every_seconds=60)
    assert fake_google.calls["list"] == 0  # the claim holds

    await survivor.pull(USER, calendar)  # a run's read before it places anything: never skipped
    assert fake_google.calls["list"] == 1

    await asyncio.sleep(0.2)  # the dead replica's claim runs out
    await survivor.sweep([USER], calendar, every_seconds=60)
    assert fake_google.calls["list"] == 2
