"""Listing, getting and deleting daily threads: the period-overlap window, kind, limit, order, 404s and 422s."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any
from uuid import UUID

import httpx
import pytest

from pma_core.clients import MemoryGatewayClient, RemoteServiceError

from .conftest import MONDAY, SwitchableQdrant, point_ids, thread, upsert_all

# Alice's threads of two weeks: a thread a day from Monday 23 to Friday 27 November, and two weekly ones.
DAYS = [thread(f"{MONDAY + timedelta(days=i)}|daily", f"Day {i}", start=MONDAY + timedelta(days=i)) for i in range(5)]
WEEKS = [
    thread("2026-W47|weekly", "Week 47", kind="weekly", start=MONDAY - timedelta(days=7), days=7),
    thread("2026-W48|weekly", "Week 48", kind="weekly", start=MONDAY, days=7),
]


def _keys(threads: Any) -> list[str]:
    return [t.key for t in threads.threads]


@pytest.fixture
async def history(memory: MemoryGatewayClient) -> None:
    await upsert_all(memory, [*DAYS, *WEEKS])


@pytest.mark.usefixtures("history")
async def test_the_window_takes_every_thread_whose_period_overlaps_it(memory: MemoryGatewayClient) -> None:
    wednesday, thursday = MONDAY + timedelta(days=2), MONDAY + timedelta(days=3)
    found = await memory.list_daily_threads("alice", start=wednesday, end=thursday)
    # Newest period first; the week of 23-29 overlaps, the week of 16-22 does not.
    assert _keys(found) == ["2026-11-26|daily", "2026-11-25|daily", "2026-W48|weekly"]

    # A window inside a week finds that week, though the week starts before the window (by up to 6 days).
    sunday = MONDAY + timedelta(days=6)
    assert _keys(await memory.list_daily_threads("alice", start=sunday, end=sunday)) == ["2026-W48|weekly"]
    last_week_end = MONDAY - timedelta(days=1)
    assert _keys(await memory.list_daily_threads("alice", start=last_week_end, end=last_week_end)) == [
        "2026-W47|weekly"
    ]
    assert _keys(await memory.list_daily_threads("alice", start=date(2026, 12, 1), end=date(2026, 12, 31))) == []


@pytest.mark.usefixtures("history")
async def test_open_ended_windows_kind_and_limit(memory: MemoryGatewayClient) -> None:
    everything = await memory.list_daily_threads("alice")
    assert len(everything.threads) == 7
    starts = [(t.period_start, t.period_end) for t in everything.threads]
    assert starts == sorted(starts, reverse=True)

    since_friday = await memory.list_daily_threads("alice", start=MONDAY + timedelta(days=4))
    assert _keys(since_friday) == ["2026-11-27|daily", "2026-W48|weekly"]
    until_monday = await memory.list_daily_threads("alice", end=MONDAY)
    # Periods starting on the same day: the longer (later ending) first.
    assert _keys(until_monday) == ["2026-W48|weekly", "2026-11-23|daily", "2026-W47|weekly"]

    weekly = await memory.list_daily_threads("alice", kind="weekly")
    assert _keys(weekly) == ["2026-W48|weekly", "2026-W47|weekly"]
    daily_this_week = await memory.list_daily_threads(
        "alice", start=MONDAY, end=MONDAY + timedelta(days=6), kind="daily"
    )
    assert len(daily_this_week.threads) == 5
    assert _keys(await memory.list_daily_threads("alice", limit=2)) == ["2026-11-27|daily", "2026-11-26|daily"]


@pytest.mark.usefixtures("history")
async def test_the_wire_parameters_are_from_and_to(http: httpx.AsyncClient) -> None:
    response = await http.get(
        "/v1/daily_threads", params={"user_id": "alice", "from": "2026-11-27", "to": "2026-11-27", "kind": "daily"}
    )
    assert response.status_code == 200
    assert [t["key"] for t in response.json()["threads"]] == ["2026-11-27|daily"]


@pytest.mark.parametrize(
    "params",
    [
        {"from": "2026-11-27", "to": "2026-11-26"},
        {"from": "1795392000"},
        {"to": "2026-11-27T00:00:00Z"},
        {"kind": "monthly"},
        {"limit": "0"},
        {"limit": "401"},
        {"start": "2026-11-27"},  # the Python name is not a wire parameter
        {},
    ],
)
async def test_invalid_listings_are_422(http: httpx.AsyncClient, params: dict[str, str]) -> None:
    query = params if params == {} else {"user_id": "alice", **params}
    response = await http.get("/v1/daily_threads", params=query)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "validation_error"


async def test_limit_400_is_accepted(http: httpx.AsyncClient) -> None:
    response = await http.get("/v1/daily_threads", params={"user_id": "alice", "limit": "400"})
    assert response.status_code == 200


async def test_delete_removes_the_thread_and_its_vector(memory: MemoryGatewayClient, qdrant: SwitchableQdrant) -> None:
    stored = await upsert_all(memory, DAYS[:2])
    doomed, kept = stored[DAYS[0].key], stored[DAYS[1].key]
    assert await point_ids(qdrant, [doomed.id, kept.id]) == {doomed.id, kept.id}

    await memory.delete_daily_thread("alice", doomed.id)

    assert await point_ids(qdrant, [doomed.id, kept.id]) == {kept.id}
    with pytest.raises(RemoteServiceError) as caught:
        await memory.get_daily_thread("alice", doomed.id)
    assert caught.value.status_code == 404
    assert _keys(await memory.list_daily_threads("alice")) == [DAYS[1].key]
    # The key is free again: upserting it creates a new thread.
    again = await memory.upsert_daily_thread(DAYS[0])
    assert (again.outcome, again.thread.id != doomed.id) == ("created", True)


async def test_unknown_ids_are_404(memory: MemoryGatewayClient, http: httpx.AsyncClient) -> None:
    unknown = UUID("00000000-0000-4000-8000-000000000000")
    for call in (memory.get_daily_thread("alice", unknown), memory.delete_daily_thread("alice", unknown)):
        with pytest.raises(RemoteServiceError) as caught:
            await call
        assert (caught.value.status_code, caught.value.code) == (404, "not_found")
    assert (await http.get("/v1/daily_threads/not-a-uuid", params={"user_id": "alice"})).status_code == 422
    assert (await http.get(f"/v1/daily_threads/{unknown}")).status_code == 422  # no user_id
