"""GET /v1/users/active on the scheduler: users with blocks overlapping [since, until) (replaced ones aside)
or runs created in it, sorted byte-wise, paged with `after`."""

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
from pma_core.contracts.activity import ActiveUsersRead

SINCE = datetime(2027, 3, 1, tzinfo=UTC)
UNTIL = SINCE + timedelta(days=7)
LONG_AGO = SINCE - timedelta(days=30)
HOUR = timedelta(hours=1)


@pytest.fixture
async def db(postgres_url: str, scheduler: SchedulerEngineClient) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(postgres_url)
    try:
        yield conn
    finally:
        await conn.close()


async def run(db: asyncpg.Connection, user: str, created_at: datetime) -> UUID:
    run_id: UUID = await db.fetchval(
        "INSERT INTO scheduler_runs (user_id, status, created_at) VALUES ($1, 'succeeded', $2) RETURNING id",
        user,
        created_at,
    )
    return run_id


async def block(db: asyncpg.Connection, user: str, start: datetime, end: datetime, status: str = "planned") -> None:
    await db.execute(
        "INSERT INTO calendar_blocks (user_id, run_id, task_id, title, start_at, end_at, status)"
        " VALUES ($1, $2, $3, 'Focus', $4, $5, $6)",
        user, await run(db, user, LONG_AGO), uuid.uuid4(), start, end, status,
    )  # fmt: skip


async def get(scheduler: SchedulerEngineClient, params: dict[str, Any]) -> httpx.Response:
    async with httpx.AsyncClient(base_url=scheduler.base_url, timeout=15.0) as http:
        return await http.get("/v1/users/active", params=params)


async def test_users_with_blocks_or_runs_in_the_window(
    scheduler: SchedulerEngineClient, db: asyncpg.Connection
) -> None:
    await run(db, "run-only", SINCE + HOUR)
    await block(db, "Zed", SINCE - HOUR, SINCE + HOUR, status="done")  # straddles the start
    await block(db, "deleted-one", UNTIL - HOUR, UNTIL + HOUR, status="deleted")
    await block(db, "replaced-only", SINCE + HOUR, SINCE + 2 * HOUR, status="replaced")  # history
    await block(db, "before", SINCE - 2 * HOUR, SINCE)  # ends as the window starts
    await run(db, "run-at-the-end", UNTIL)  # created as it ends

    assert await scheduler.active_users(SINCE, UNTIL) == ["Zed", "deleted-one", "run-only"]
    assert await scheduler.active_users(SINCE - 3 * HOUR, SINCE) == ["Zed", "before"]
    assert await scheduler.active_users(UNTIL, UNTIL + HOUR) == ["deleted-one", "run-at-the-end"]


async def test_pages_and_bad_windows(scheduler: SchedulerEngineClient, db: asyncpg.Connection) -> None:
    users = [f"user-{n}" for n in range(5)]
    for user in users:
        await run(db, user, SINCE + HOUR)
    params: dict[str, Any] = {"since": SINCE.isoformat(), "until": UNTIL.isoformat(), "limit": 3}

    first = ActiveUsersRead.model_validate((await get(scheduler, params)).json())
    second = ActiveUsersRead.model_validate((await get(scheduler, params | {"after": first.next_after})).json())

    assert (first.user_ids, first.next_after) == (users[:3], users[2])
    assert (second.user_ids, second.next_after) == (users[3:], None)
    for bad, words in (
        ({"until": SINCE.isoformat()}, "since must be before until"),
        ({"until": (SINCE + timedelta(days=63)).isoformat()}, "longer than 62 days"),
        ({"limit": 0}, "query.limit"),
        ({"after": "no spaces allowed"}, "query.after"),
    ):
        response = await get(scheduler, params | bad)
        assert response.status_code == 422, bad
        assert words in response.json()["error"]["message"]
