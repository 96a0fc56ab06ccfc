"""GET /v1/executions pages with a keyset cursor over (started_at, id): a whole window is read page by page,
newest first, with nothing lost or repeated when runs share a started_at; a bad cursor is a 422."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import asyncpg
import httpx

from pma_core.clients import PlannerEngineClient
from pma_core.contracts.executions import ExecutionCreate, ExecutionRead

USER = "alice"
OTHER = "bob"
NOW = datetime.now(UTC).replace(microsecond=0)
SINCE, UNTIL = NOW - timedelta(days=2), NOW - timedelta(hours=1)


async def record(planner: PlannerEngineClient, started: datetime, user: str = USER) -> ExecutionRead:
    run = {"user_id": user, "subject": "work", "status": "succeeded", "run_kind": "other", "started_at": started,
           "finished_at": started + timedelta(minutes=30)}  # fmt: skip
    return await planner.record_execution(ExecutionCreate.model_validate(run))


def newest_first(runs: list[ExecutionRead]) -> list[UUID]:
    return [run.id for run in sorted(runs, key=lambda run: (run.started_at, run.id), reverse=True)]


async def test_pages_cover_the_window_once_even_when_runs_share_a_start(planner: PlannerEngineClient) -> None:
    shared = NOW - timedelta(days=1)
    inside = [await record(planner, shared) for _ in range(4)]
    inside += [await record(planner, shared - timedelta(hours=h)) for h in (1, 2)]
    inside.append(await record(planner, SINCE))  # the window's start is in it
    await record(planner, UNTIL)  # its end is not
    await record(planner, SINCE - timedelta(seconds=1))
    await record(planner, shared, user=OTHER)

    seen: list[UUID] = []
    pages = 0
    cursor: str | None = None
    while True:
        page = await planner.list_executions(USER, since=SINCE, until=UNTIL, limit=2, cursor=cursor)
        pages += 1
        assert len(page.executions) <= 2
        seen += [run.id for run in page.executions]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor

    assert seen == newest_first(inside)  # in order, none lost, none twice
    assert pages == 4  # 7 runs by 2; the last page knows it is the last
    whole = await planner.list_executions(USER, since=SINCE, until=UNTIL, limit=7)
    assert ([run.id for run in whole.executions], whole.next_cursor) == (seen, None)


async def test_the_typed_client_follows_the_cursor_to_the_end(planner: PlannerEngineClient, postgres_url: str) -> None:
    # More than one page of the client's (200), five runs to each moment.
    starts = [NOW - timedelta(hours=2, minutes=minute) for minute in range(50) for _ in range(5)]
    conn = await asyncpg.connect(postgres_url)
    try:
        await conn.executemany(
            "INSERT INTO execution_runs (user_id, subject, status, started_at) VALUES ($1, 'bulk', 'running', $2)",
            [(USER, started) for started in starts] + [(OTHER, NOW - timedelta(hours=2))],
        )
    finally:
        await conn.close()

    runs = await planner.executions_between(USER, NOW - timedelta(days=1), NOW)

    assert len(runs) == len(starts) == 250
    assert len({run.id for run in runs}) == 250
    assert [run.id for run in runs] == newest_first(runs)
    assert {run.user_id for run in runs} == {USER}


async def test_a_cursor_the_endpoint_did_not_make_is_a_422(planner: PlannerEngineClient) -> None:
    await record(planner, NOW - timedelta(hours=3))
    await record(planner, NOW - timedelta(hours=4))
    good = (await planner.list_executions(USER, limit=1)).next_cursor
    assert good is not None

    async def status_of(cursor: str) -> tuple[int, Any]:
        async with httpx.AsyncClient(base_url=planner.base_url, timeout=15.0) as http:
            response = await http.get("/v1/executions", params={"user_id": USER, "cursor": cursor})
        return response.status_code, response.json()

    assert (await status_of(good))[0] == 200
    for bad in ("not a cursor", base64.urlsafe_b64encode(b"2026-01-01T00:00:00|x").decode(),
                base64.urlsafe_b64encode(b"2026-01-01T00:00:00|00000000-0000-0000-0000-000000000000").decode(),
                good[:-3]):  # fmt: skip
        code, body = await status_of(bad)
        assert code == 422, (bad, body)
        assert body["error"]["details"][0] == {
            "field": "query.cursor",
            "message": "not a cursor this endpoint returned (send back next_cursor as it came)",
            "type": "invalid_cursor",
        }
