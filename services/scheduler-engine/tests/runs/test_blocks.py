"""GET /v1/blocks: a user's blocks overlapping [from, to), by start, filtered by status; replaced blocks
(history) never listed, another user's never; a bad window is a 422."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import asyncpg
import httpx
import pytest

from pma_core.clients import SchedulerEngineClient
from pma_core.contracts.scheduling import WEEKDAYS, RunCreate, RunTask, SchedulingProfile, TimeWindow

from .conftest import finished_run

USER = "ada"
OTHER = "bob"
FROM = datetime(2027, 3, 1, tzinfo=UTC)
TO = FROM + timedelta(days=1)
HOUR = timedelta(hours=1)


@pytest.fixture
async def db(postgres_url: str, scheduler: SchedulerEngineClient) -> AsyncIterator[asyncpg.Connection]:
    """The scheduler's database (migrated by the running service), to lay out blocks at exact times."""
    conn = await asyncpg.connect(postgres_url)
    try:
        yield conn
    finally:
        await conn.close()


async def new_run(db: asyncpg.Connection, user: str = USER, created_at: datetime | None = None) -> UUID:
    run_id: UUID = await db.fetchval(
        "INSERT INTO scheduler_runs (user_id, status, created_at) VALUES ($1, 'succeeded', coalesce($2, now()))"
        " RETURNING id",
        user,
        created_at,
    )
    return run_id


async def block(
    db: asyncpg.Connection, run_id: UUID, start: datetime, end: datetime, *, status: str = "planned", user: str = USER
) -> UUID:
    block_id: UUID = await db.fetchval(
        "INSERT INTO calendar_blocks (user_id, run_id, task_id, title, start_at, end_at, status)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        user, run_id, uuid.uuid4(), f"{status} {start:%H:%M}", start, end, status,
    )  # fmt: skip
    return block_id


async def listed(scheduler: SchedulerEngineClient, user: str = USER, **options: Any) -> list[UUID]:
    return [b.id for b in (await scheduler.list_blocks(user, FROM, TO, **options)).blocks]


async def get(scheduler: SchedulerEngineClient, params: dict[str, Any]) -> httpx.Response:
    async with httpx.AsyncClient(base_url=scheduler.base_url, timeout=15.0) as http:
        return await http.get("/v1/blocks", params=params)


async def test_blocks_overlapping_the_window_by_start(scheduler: SchedulerEngineClient, db: asyncpg.Connection) -> None:
    run = await new_run(db)
    straddles_start = await block(db, run, FROM - HOUR, FROM + HOUR)
    inside_done = await block(db, run, FROM + 3 * HOUR, FROM + 4 * HOUR, status="done")
    inside_deleted = await block(db, run, FROM + 5 * HOUR, FROM + 6 * HOUR, status="deleted")
    covers = await block(db, run, FROM - 2 * HOUR, TO + 2 * HOUR)
    straddles_end = await block(db, run, TO - HOUR, TO + HOUR)
    await block(db, run, FROM - HOUR, FROM)  # ends as the window starts: out
    await block(db, run, TO, TO + HOUR)  # starts as it ends: out
    await block(db, run, FROM + 2 * HOUR, FROM + 3 * HOUR, status="replaced")  # history: never listed
    await block(db, await new_run(db, OTHER), FROM + HOUR, FROM + 2 * HOUR, user=OTHER)

    assert await listed(scheduler) == [covers, straddles_start, inside_done, inside_deleted, straddles_end]
    assert await listed(scheduler, statuses=["planned"]) == [covers, straddles_start, straddles_end]
    assert await listed(scheduler, statuses=["done", "deleted"]) == [inside_done, inside_deleted]
    assert await listed(scheduler, limit=2) == [covers, straddles_start]
    assert len(await listed(scheduler, OTHER)) == 1

    (first, *_) = (await scheduler.list_blocks(USER, FROM, TO)).blocks
    assert (first.run_id, first.plan_id, first.status, first.pinned) == (run, None, "planned", False)
    assert (first.start, first.end) == (FROM - 2 * HOUR, TO + 2 * HOUR)
    assert first.created_at <= first.updated_at


async def test_a_runs_blocks_are_listed_with_their_run(scheduler: SchedulerEngineClient) -> None:
    every_day = {day: [TimeWindow(start="09:00", end="13:00")] for day in WEEKDAYS}
    await scheduler.put_profile(USER, SchedulingProfile(working_hours=every_day))
    start = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
    tasks = [RunTask(id=uuid.uuid4(), title="Focus", estimate_minutes=60)]
    accepted = await scheduler.create_run(RunCreate(user_id=USER, tasks=tasks, window_start=start, window_days=2))
    run = await finished_run(scheduler, USER, accepted.run_id)

    found = (await scheduler.list_blocks(USER, start, start + timedelta(days=2))).blocks

    assert [(b.id, b.task_id, b.start, b.end) for b in found] == [(b.id, b.task_id, b.start, b.end) for b in run.blocks]
    assert {b.run_id for b in found} == {run.id}


async def test_the_window_and_the_statuses_are_checked(scheduler: SchedulerEngineClient) -> None:
    base = {"user_id": USER, "from": FROM.isoformat(), "to": TO.isoformat()}
    assert (await get(scheduler, base)).status_code == 200
    for bad, field, words in (
        ({"to": FROM.isoformat()}, "query.from", "from must be before to"),
        ({"to": (FROM + timedelta(days=62, seconds=1)).isoformat()}, "query.from", "longer than 62 days"),
        ({"status": "replaced"}, "query.status.0", "planned"),
        ({"limit": 2001}, "query.limit", "2000"),
        ({"from": "2027-03-01T00:00:00"}, "query.from", "timezone"),
    ):
        response = await get(scheduler, base | bad)
        assert response.status_code == 422, (bad, response.text)
        error = response.json()["error"]
        assert error["details"][0]["field"] == field
        assert words in error["message"], error["message"]
    missing = await get(scheduler, {"user_id": USER, "from": FROM.isoformat()})
    assert (missing.status_code, missing.json()["error"]["details"][0]["field"]) == (422, "query.to")
