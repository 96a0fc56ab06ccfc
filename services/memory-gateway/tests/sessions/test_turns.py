"""Sessions in Valkey: append and read in order, the latest N, TTLs, listing, deleting, concurrency."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
import valkey.asyncio as valkey_asyncio

from memory_gateway.adapters.sessions import SessionKeys
from pma_core.clients import MemoryGatewayClient, RemoteServiceError
from pma_core.contracts.sessions import TurnCreate

USER = "alice"
DAY = 86_400
KeysOf = Callable[[str, str], SessionKeys]


def _turn(content: str, **fields: object) -> TurnCreate:
    return TurnCreate(user_id=USER, content=content, **{"role": "user", **fields})


async def test_turns_come_back_in_append_order_and_last_n_is_the_latest(memory: MemoryGatewayClient) -> None:
    roles = ["system", "user", "assistant", "tool", "user"]
    for n, role in enumerate(roles, start=1):
        appended = await memory.append_turn("chat-1", _turn(f"turn number {n}", role=role))
        assert (appended.turn.seq, appended.turns_kept, appended.moved_to_long_term) == (n, n, [])

    session = await memory.read_turns(USER, "chat-1")
    assert [t.seq for t in session.turns] == [1, 2, 3, 4, 5]
    assert [t.role for t in session.turns] == roles
    assert [t.content for t in session.turns] == [f"turn number {n}" for n in range(1, 6)]
    assert (session.total_turns, session.last_seq, session.user_id, session.session_id) == (5, 5, USER, "chat-1")

    latest = await memory.read_turns(USER, "chat-1", last=2)
    assert [t.content for t in latest.turns] == ["turn number 4", "turn number 5"]
    assert latest.total_turns == 5


async def test_content_and_metadata_are_kept_verbatim(memory: MemoryGatewayClient) -> None:
    content = '  def f():\n      return "ünïcode ✓"\n'
    metadata = {"tool": "python", "args": [], "nested": {"ratio": 0.1, "ok": True}, "empty": {}}
    appended = await memory.append_turn("chat-1", _turn(content, role="tool", metadata=metadata))
    (stored,) = (await memory.read_turns(USER, "chat-1")).turns
    assert (stored.content, stored.metadata) == (content, metadata)
    assert stored == appended.turn
    assert stored.created_at.tzinfo is not None


async def test_each_append_sets_and_refreshes_the_ttl(
    memory: MemoryGatewayClient, raw_valkey: valkey_asyncio.Valkey, keys_of: KeysOf
) -> None:
    keys = keys_of(USER, "chat-1")
    await memory.append_turn("chat-1", _turn("hello"))
    for key in (keys.turns, keys.meta, keys.index):
        assert DAY - 5 <= await raw_valkey.ttl(key) <= DAY

    await raw_valkey.expire(keys.turns, 100)
    await raw_valkey.expire(keys.meta, 100)
    await memory.append_turn("chat-1", _turn("still here"))
    assert DAY - 5 <= await raw_valkey.ttl(keys.turns) <= DAY
    assert DAY - 5 <= await raw_valkey.ttl(keys.meta) <= DAY
    assert DAY - 5 <= (await memory.read_turns(USER, "chat-1")).ttl_seconds <= DAY


async def test_a_turn_can_set_the_sessions_ttl_and_later_turns_keep_it(
    memory: MemoryGatewayClient, raw_valkey: valkey_asyncio.Valkey, keys_of: KeysOf
) -> None:
    keys = keys_of(USER, "short")
    await memory.append_turn("short", _turn("a quick question", ttl_seconds=120))
    assert 110 <= await raw_valkey.ttl(keys.turns) <= 120
    await memory.append_turn("short", _turn("and another"))
    assert 110 <= await raw_valkey.ttl(keys.turns) <= 120
    await memory.append_turn("short", _turn("keep this one for a week", ttl_seconds=7 * DAY))
    assert 7 * DAY - 5 <= await raw_valkey.ttl(keys.turns) <= 7 * DAY


async def test_sessions_are_listed_and_deleted(memory: MemoryGatewayClient) -> None:
    assert await memory.list_sessions(USER) == []
    for session_id in ["b-chat", "a-chat", "c:thread.1"]:
        await memory.append_turn(session_id, _turn("hi"))
    assert await memory.list_sessions(USER) == ["a-chat", "b-chat", "c:thread.1"]

    await memory.delete_session(USER, "b-chat")
    assert await memory.list_sessions(USER) == ["a-chat", "c:thread.1"]
    for call in (memory.read_turns(USER, "b-chat"), memory.delete_session(USER, "b-chat")):
        with pytest.raises(RemoteServiceError) as caught:
            await call
        assert caught.value.status_code == 404

    again = await memory.append_turn("b-chat", _turn("starting over"))
    assert again.turn.seq == 1


async def test_concurrent_appends_never_lose_or_reorder_a_turn(memory: MemoryGatewayClient) -> None:
    contents = [f"parallel turn {n}" for n in range(40)]
    results = await asyncio.gather(*(memory.append_turn("busy", _turn(c)) for c in contents))
    assert sorted(r.turn.seq for r in results) == list(range(1, 41))

    session = await memory.read_turns(USER, "busy", last=200)
    assert [t.seq for t in session.turns] == list(range(1, 41))
    assert sorted(t.content for t in session.turns) == sorted(contents)
    by_content = {r.turn.content: r.turn.seq for r in results}
    assert all(by_content[t.content] == t.seq for t in session.turns)
