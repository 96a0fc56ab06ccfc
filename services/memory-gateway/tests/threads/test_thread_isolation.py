"""One user can never get, list, change, delete or find (as similar, or by key) another user's threads."""

from __future__ import annotations

from collections.abc import Awaitable

import httpx
import pytest

from pma_core.clients import MemoryGatewayClient, RemoteServiceError
from pma_core.contracts.daily_threads import DailyThreadRead, SimilarDaysRequest

from .conftest import SwitchableQdrant, point_ids, thread

SECRET = "Alice moved her savings to the offshore account after the board meeting"


async def _alice_secret(memory: MemoryGatewayClient) -> DailyThreadRead:
    return (await memory.upsert_daily_thread(thread("2026-11-23|daily", SECRET))).thread


async def _status(call: Awaitable[object]) -> int:
    with pytest.raises(RemoteServiceError) as caught:
        await call
    return caught.value.status_code


async def test_bob_cannot_get_or_delete_alices_thread(memory: MemoryGatewayClient, qdrant: SwitchableQdrant) -> None:
    secret = await _alice_secret(memory)
    assert await _status(memory.get_daily_thread("bob", secret.id)) == 404
    assert await _status(memory.delete_daily_thread("bob", secret.id)) == 404
    assert (await memory.get_daily_thread("alice", secret.id)).text == SECRET
    assert await point_ids(qdrant, [secret.id]) == {secret.id}  # Bob's delete touched nothing


async def test_bob_lists_only_his_own_threads(memory: MemoryGatewayClient) -> None:
    secret = await _alice_secret(memory)
    day = secret.period_start
    assert (await memory.list_daily_threads("bob", start=day, end=day)).threads == []
    assert (await memory.list_daily_threads("bob", kind="daily")).threads == []
    bobs = (await memory.upsert_daily_thread(thread("2026-11-23|daily", "Bob's own day", user_id="bob"))).thread
    assert [t.id for t in (await memory.list_daily_threads("bob", start=day, end=day)).threads] == [bobs.id]


async def test_bobs_upsert_of_the_same_key_never_touches_alices(memory: MemoryGatewayClient) -> None:
    secret = await _alice_secret(memory)
    bob = await memory.upsert_daily_thread(thread(secret.key, "Bob overwrites?", user_id="bob"))
    assert bob.outcome == "created"  # his own thread, never an update of Alice's
    assert (await memory.get_daily_thread("alice", secret.id)) == secret


async def test_bob_cannot_find_alices_threads(memory: MemoryGatewayClient, http: httpx.AsyncClient) -> None:
    await _alice_secret(memory)
    bobs = await memory.upsert_daily_thread(thread("bob-day", "Bob moved savings to a new account", user_id="bob"))

    by_text = await memory.similar_days(SimilarDaysRequest(user_id="bob", text="savings offshore account board"))
    assert [hit.thread.id for hit in by_text.hits] == [bobs.thread.id]
    assert (await memory.similar_days(SimilarDaysRequest(user_id="bob", key="bob-day"))).hits == []

    # Alice's key is unknown to Bob: 404, the same answer as for a key that never existed.
    response = await http.post("/v1/similar_days", json={"user_id": "bob", "key": "2026-11-23|daily"})
    assert response.status_code == 404
    assert SECRET not in response.text
