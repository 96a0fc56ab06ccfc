"""One user can never read, find, change, supersede or delete another user's memories."""

from __future__ import annotations

import pytest

from pma_core.clients import MemoryGatewayClient, RemoteServiceError
from pma_core.contracts.memory import MemoryCreate, MemoryItem, MemoryUpdate, RecallFilters
from pma_core.contracts.sessions import TurnCreate


async def _alice_secret(memory: MemoryGatewayClient) -> MemoryCreate:
    return MemoryCreate(user_id="alice", text="Alice's bank PIN hint is the cat's birthday", kind="fact")


async def _expect_404(call: object) -> None:
    with pytest.raises(RemoteServiceError) as caught:
        await call  # type: ignore[misc]
    assert caught.value.status_code == 404


async def test_bob_cannot_reach_alices_memory_by_any_endpoint(memory: MemoryGatewayClient) -> None:
    secret = (await memory.remember(await _alice_secret(memory))).memory
    await memory.remember(MemoryCreate(user_id="bob", text="Bob likes cats"))

    await _expect_404(memory.get_memory("bob", secret.id))
    await _expect_404(memory.memory_history("bob", secret.id))
    await _expect_404(memory.update_memory(secret.id, MemoryUpdate(user_id="bob", text="hijacked")))
    await _expect_404(memory.forget("bob", secret.id))

    for query in ["bank PIN hint cat birthday", "Alice's bank PIN"]:
        hits = (await memory.recall("bob", query, use_cache=False, filters=RecallFilters(include_superseded=True))).hits
        assert all(hit.memory.user_id == "bob" for hit in hits)
        assert secret.id not in {hit.memory.id for hit in hits}

    still = await memory.get_memory("alice", secret.id)
    assert still.text == "Alice's bank PIN hint is the cat's birthday"


async def test_bob_cannot_supersede_or_dedupe_into_alices_memory(memory: MemoryGatewayClient) -> None:
    secret = (await memory.remember(await _alice_secret(memory))).memory
    with pytest.raises(RemoteServiceError) as caught:
        await memory.remember(MemoryCreate(user_id="bob", text="override", supersedes=[secret.id]))
    assert caught.value.status_code == 422

    same_text = await memory.remember(MemoryCreate(user_id="bob", text=secret.text, kind="fact"))
    assert same_text.outcome == "created"  # Bob gets his own copy; Alice's is untouched
    assert same_text.memory.id != secret.id
    assert (await memory.get_memory("alice", secret.id)).status == "active"

    slot = await memory.remember(MemoryCreate(user_id="alice", text="Alice starts at 9", key="work.start"))
    await memory.remember(MemoryCreate(user_id="bob", text="Bob starts at 7", key="work.start"))
    assert (await memory.get_memory("alice", slot.memory.id)).status == "active"


async def test_the_same_idempotency_key_is_per_user(memory: MemoryGatewayClient) -> None:
    alice = await memory.remember(MemoryCreate(user_id="alice", text="Alice note", idempotency_key="k-1"))
    bob = await memory.remember(MemoryCreate(user_id="bob", text="Bob note", idempotency_key="k-1"))
    assert bob.outcome == "created"
    assert bob.memory.id != alice.memory.id


async def test_deleting_a_user_removes_all_of_theirs_and_nothing_else(memory: MemoryGatewayClient) -> None:
    await memory.remember_batch("alice", [MemoryItem(text="Alice one"), MemoryItem(text="Alice two")])
    bobs = (await memory.remember(MemoryCreate(user_id="bob", text="Bob keeps this"))).memory

    deleted = await memory.delete_user("alice")

    assert deleted["memories"] == 2
    assert deleted["memory_history"] == 2
    assert (await memory.recall("alice", "Alice one two", use_cache=False)).hits == []
    assert (await memory.get_memory("bob", bobs.id)).text == "Bob keeps this"


async def test_after_a_user_is_deleted_no_cached_recall_or_session_brings_their_data_back(
    memory: MemoryGatewayClient,
) -> None:
    await memory.remember(MemoryCreate(user_id="alice", text="Alice's door code is 4711", kind="fact"))
    assert (await memory.recall("alice", "door code")).hits  # cached, at the user's generation 1
    await memory.append_turn("standup", TurnCreate(user_id="alice", role="user", content="My door code is 4711"))

    deleted = await memory.delete_user("alice")
    assert deleted["sessions"] == 1
    assert await memory.list_sessions("alice") == []

    # Alice writes anew: her generation must not be 1 again, or the old cached recall would answer.
    await memory.remember(MemoryCreate(user_id="alice", text="Alice waters the plants on Fridays", kind="fact"))
    texts = [hit.memory.text for hit in (await memory.recall("alice", "door code")).hits]
    assert "Alice's door code is 4711" not in texts, texts
