"""GET /v1/users/active: who had any activity in the planner in [since, until) (plans created, tasks
created, updated or completed, executions started or finished), sorted byte-wise, paged with `after`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx

from pma_core.clients import PlannerEngineClient
from pma_core.contracts.activity import ActiveUsersRead
from pma_core.contracts.executions import ExecutionCreate
from pma_core.contracts.plans import PlanCreate
from pma_core.contracts.tasks import TaskImport

NOW = datetime.now(UTC)
SINCE, UNTIL = NOW - timedelta(hours=1), NOW + timedelta(hours=1)
LONG_AGO = NOW - timedelta(days=10)


async def get(planner: PlannerEngineClient, params: dict[str, Any]) -> httpx.Response:
    async with httpx.AsyncClient(base_url=planner.base_url, timeout=15.0) as http:
        return await http.get("/v1/users/active", params=params)


async def execution(planner: PlannerEngineClient, user: str, started: datetime, finished: datetime | None) -> None:
    status = "succeeded" if finished else "running"
    run = {"user_id": user, "subject": "call", "run_kind": "other", "status": status, "started_at": started,
           "finished_at": finished}  # fmt: skip
    await planner.record_execution(ExecutionCreate.model_validate(run))


async def test_users_with_any_activity_in_the_window_and_no_one_else(
    planner: PlannerEngineClient, postgres_url: str
) -> None:
    await planner.create_plan(PlanCreate(user_id="planner-only", intent="Write the annual report"))
    batch = {"user_id": "Zed", "source": "coda", "tasks": [{"external_ref": "r1", "title": "T", "estimate_minutes": 5}]}
    await planner.import_tasks(TaskImport.model_validate(batch))
    await execution(planner, "exec-only", NOW - timedelta(minutes=5), None)
    await execution(planner, "finished-in-window", LONG_AGO, NOW - timedelta(minutes=1))
    await execution(planner, "long-ago", LONG_AGO, LONG_AGO + timedelta(hours=1))
    conn = await asyncpg.connect(postgres_url)
    try:
        # Tasks of long ago; one of them finished within the window (a direct write: the trigger stamps it).
        insert = (
            "INSERT INTO tasks (user_id, title, estimate_minutes, created_at, updated_at)"
            " VALUES ($1, 'old', 30, $2, $2) RETURNING id"
        )
        await conn.fetchval(insert, "old-task", LONG_AGO)
        done = await conn.fetchval(insert, "completed-now", LONG_AGO)
        await conn.execute("UPDATE tasks SET status = 'done' WHERE id = $1", done)
    finally:
        await conn.close()

    found = await planner.active_users(SINCE, UNTIL)

    # Byte order, whatever the database's collation: "Zed" before the lower-case ids.
    assert found == ["Zed", "completed-now", "exec-only", "finished-in-window", "planner-only"]
    assert await planner.active_users(NOW - timedelta(days=11), NOW - timedelta(days=9)) == [
        "completed-now", "finished-in-window", "long-ago", "old-task",
    ]  # fmt: skip
    assert await planner.active_users(NOW + timedelta(hours=2), NOW + timedelta(hours=3)) == []


async def test_pages_follow_next_after(planner: PlannerEngineClient) -> None:
    users = [f"user-{n:02d}" for n in range(5)]
    for user in reversed(users):
        await execution(planner, user, NOW - timedelta(minutes=2), None)

    seen: list[str] = []
    params: dict[str, Any] = {"since": SINCE.isoformat(), "until": UNTIL.isoformat(), "limit": 2}
    pages = []
    while True:
        response = await get(planner, params)
        assert response.status_code == 200, response.text
        page = ActiveUsersRead.model_validate(response.json())
        pages.append(page.user_ids)
        seen += page.user_ids
        if page.next_after is None:
            break
        params["after"] = page.next_after
    assert pages == [users[:2], users[2:4], users[4:]]
    assert seen == users == await planner.active_users(SINCE, UNTIL)


async def test_the_window_is_required_bounded_and_ordered(planner: PlannerEngineClient) -> None:
    since = SINCE.isoformat()
    missing = await get(planner, {"since": since})
    assert (missing.status_code, missing.json()["error"]["details"][0]["field"]) == (422, "query.until")
    reversed_ = await get(planner, {"since": since, "until": (SINCE - timedelta(seconds=1)).isoformat()})
    assert reversed_.status_code == 422
    assert "since must be before until" in reversed_.json()["error"]["message"]
    too_long = await get(planner, {"since": since, "until": (SINCE + timedelta(days=62, seconds=1)).isoformat()})
    assert too_long.status_code == 422
    assert "longer than 62 days" in too_long.json()["error"]["message"]
    assert (await get(planner, {"since": since, "until": (SINCE + timedelta(days=62)).isoformat()})).status_code == 200
    assert (await get(planner, {"since": since, "until": UNTIL.isoformat(), "limit": 1001})).status_code == 422
