"""One user can never read, list, find (similar) or replay into another user's events."""

from __future__ import annotations

import pytest

from pma_core.clients import MemoryGatewayClient, RemoteServiceError
from pma_core.contracts.events import EventBatchCreate, EventCreate, EventItem, EventRead, SimilarEventsRequest


async def _alice_secret(memory: MemoryGatewayClient) -> EventRead:
    event = EventCreate(
        user_id="alice",
        event_type="agent.run",
        subject="bank transfer",
        summary="Alice moved savings to the offshore account",
        idempotency_key="secret-1",
    )
    return (await memory.log_event(event)).event


async def test_bob_cannot_get_alices_event(memory: MemoryGatewayClient) -> None:
    secret = await _alice_secret(memory)
    with pytest.raises(RemoteServiceError) as caught:
        await memory.get_event("bob", secret.id)
    assert caught.value.status_code == 404
    assert (await memory.get_event("alice", secret.id)).id == secret.id


async def test_bob_lists_only_his_own_events(memory: MemoryGatewayClient) -> None:
    await _alice_secret(memory)
    assert await memory.list_events("bob") == []
    assert await memory.list_events("bob", types=["agent.run"]) == []
    await memory.log_event(EventCreate(user_id="bob", event_type="agent.run", summary="Bob's run"))
    assert [e.user_id for e in await memory.list_events("bob")] == ["bob"]


async def test_bob_cannot_find_alices_events_as_similar(memory: MemoryGatewayClient) -> None:
    secret = await _alice_secret(memory)
    bob_event = EventCreate(user_id="bob", event_type="agent.run", summary="Bob moved savings to a new account")
    bob = (await memory.log_event(bob_event)).event

    by_text = await memory.similar_events(SimilarEventsRequest(user_id="bob", text="savings offshore account"))
    assert [hit.event.id for hit in by_text.hits] == [bob.id]

    by_bobs_event = await memory.similar_events(SimilarEventsRequest(user_id="bob", event_id=bob.id))
    assert by_bobs_event.hits == []

    # Alice's event id is unknown to Bob: 404, the same answer as for an id that never existed.
    with pytest.raises(RemoteServiceError) as caught:
        await memory.similar_events(SimilarEventsRequest(user_id="bob", event_id=secret.id))
    assert caught.value.status_code == 404


async def test_the_same_idempotency_key_is_per_user(memory: MemoryGatewayClient) -> None:
    secret = await _alice_secret(memory)
    bob = await memory.log_event(EventCreate(user_id="bob", event_type="note", idempotency_key="secret-1"))
    assert bob.outcome == "created"  # Bob's own event: never a replay of Alice's
    assert bob.event.id != secret.id
    assert bob.event.user_id == "bob"

    batch = await memory.log_events(
        EventBatchCreate(user_id="bob", events=[EventItem(event_type="note", idempotency_key="secret-1")])
    )
    assert batch[0].outcome == "replayed"
    assert batch[0].event.id == bob.event.id
    assert (await memory.get_event("alice", secret.id)).summary == "Alice moved savings to the offshore account"
