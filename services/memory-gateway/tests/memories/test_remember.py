"""remember over HTTP: created, duplicate, merged, replayed, superseded; history; batches; forget."""

from __future__ import annotations

from uuid import UUID

import asyncpg
import pytest

from pma_core.clients import MemoryGatewayClient, RemoteServiceError
from pma_core.contracts.memory import MemoryCreate, MemoryItem, MemoryUpdate

USER = "alice"


def _memory(text: str, **fields: object) -> MemoryCreate:
    return MemoryCreate(user_id=USER, text=text, **fields)  # type: ignore[arg-type]


async def test_a_new_memory_is_created_and_readable(memory: MemoryGatewayClient) -> None:
    result = await memory.remember(_memory("Prefers deep work before noon", kind="preference", importance=0.8))
    assert result.outcome == "created"
    stored = await memory.get_memory(USER, result.memory.id)
    assert (stored.text, stored.kind, stored.importance, stored.status) == (
        "Prefers deep work before noon",
        "preference",
        pytest.approx(0.8),
        "active",
    )
    history = await memory.memory_history(USER, result.memory.id)
    assert [h.action for h in history] == ["created"]


async def test_the_same_text_again_is_one_memory(memory: MemoryGatewayClient) -> None:
    first = await memory.remember(_memory("The newsletter ships on Fridays", importance=0.3))
    again = await memory.remember(_memory("the newsletter  ships on fridays", importance=0.9, metadata={"team": "ops"}))
    assert again.outcome == "duplicate"
    assert again.memory.id == first.memory.id
    assert again.memory.importance == pytest.approx(0.9)
    assert again.memory.metadata == {"team": "ops"}
    assert [h.action for h in await memory.memory_history(USER, first.memory.id)] == ["created", "merged"]


async def test_a_near_duplicate_updates_the_memory_and_keeps_the_old_text(memory: MemoryGatewayClient) -> None:
    first = await memory.remember(_memory("Weekly review happens every Friday afternoon at 4pm in the office"))
    near = await memory.remember(_memory("Weekly review happens every Friday afternoon at 4pm in the office!"))
    assert near.outcome in {"merged", "duplicate"}
    assert near.memory.id == first.memory.id
    history = await memory.memory_history(USER, first.memory.id)
    assert history[-1].action == "merged"
    assert history[-1].old_text == "Weekly review happens every Friday afternoon at 4pm in the office"


async def test_a_different_kind_is_never_merged(memory: MemoryGatewayClient) -> None:
    fact = await memory.remember(_memory("Uses Coda for the daily thread", kind="fact"))
    decision = await memory.remember(_memory("Uses Coda for the daily thread", kind="decision"))
    assert decision.outcome == "created"
    assert decision.memory.id != fact.memory.id


async def test_an_idempotency_key_replays_instead_of_storing_twice(memory: MemoryGatewayClient) -> None:
    first = await memory.remember(_memory("Launch checklist lives in Notion", idempotency_key="n8n-run-42"))
    retry = await memory.remember(_memory("Launch checklist lives in Notion", idempotency_key="n8n-run-42"))
    assert retry.outcome == "replayed"
    assert retry.memory.id == first.memory.id


async def test_a_newer_fact_in_the_same_slot_supersedes_the_older(memory: MemoryGatewayClient) -> None:
    old = await memory.remember(_memory("Starts work at 9:00", kind="preference", key="work.start_time"))
    new = await memory.remember(
        _memory("Starts work at 10:30 since the move", kind="preference", key="work.start_time")
    )
    assert new.outcome == "created"
    assert new.superseded == [old.memory.id]
    before = await memory.get_memory(USER, old.memory.id)
    assert before.status == "superseded"
    assert before.superseded_by == new.memory.id
    assert before.valid_to is not None
    history = await memory.memory_history(USER, old.memory.id)
    assert [h.action for h in history] == ["created", "superseded"]
    assert history[-1].details["superseded_by"] == str(new.memory.id)


async def test_explicit_supersedes_invalidates_and_unknown_ids_are_refused(memory: MemoryGatewayClient) -> None:
    old = await memory.remember(_memory("The budget is 100 dollars a month"))
    new = await memory.remember(_memory("The budget was raised to 150 dollars", supersedes=[old.memory.id]))
    assert new.superseded == [old.memory.id]
    with pytest.raises(RemoteServiceError) as caught:
        await memory.remember(_memory("Something else", supersedes=[UUID(int=7)]))
    assert caught.value.status_code == 422
    assert caught.value.details["field"] == "supersedes"


async def test_batch_is_one_transaction_and_dedupes_within_itself(memory: MemoryGatewayClient) -> None:
    items = [
        MemoryItem(text="Owns the Q1 newsletter"),
        MemoryItem(text="owns the Q1 newsletter"),
        MemoryItem(text="Reports to Dana", kind="fact"),
    ]
    result = await memory.remember_batch(USER, items)
    outcomes = [r.outcome for r in result.results]
    assert outcomes == ["created", "duplicate", "created"]
    assert result.results[0].memory.id == result.results[1].memory.id


async def test_a_failing_batch_stores_nothing(memory: MemoryGatewayClient, gateway_settings: object) -> None:
    items = [MemoryItem(text="First of a doomed batch"), MemoryItem(text="Second", supersedes=[UUID(int=9)])]
    with pytest.raises(RemoteServiceError):
        await memory.remember_batch(USER, items)
    recalled = await memory.recall(USER, "doomed batch", use_cache=False)
    assert recalled.hits == []


async def test_update_keeps_history_and_reindexes(memory: MemoryGatewayClient) -> None:
    created = await memory.remember(_memory("Gym on Mondays"))
    updated = await memory.update_memory(created.memory.id, MemoryUpdate(user_id=USER, text="Gym on Tuesdays"))
    assert updated.text == "Gym on Tuesdays"
    history = await memory.memory_history(USER, created.memory.id)
    assert (history[-1].action, history[-1].old_text, history[-1].new_text) == (
        "updated",
        "Gym on Mondays",
        "Gym on Tuesdays",
    )
    hits = (await memory.recall(USER, "tuesdays gym", use_cache=False)).hits
    assert hits[0].memory.id == created.memory.id


async def test_forget_removes_the_memory_and_its_history(memory: MemoryGatewayClient, postgres_url: str) -> None:
    created = await memory.remember(_memory("Temporary note about the dentist"))
    await memory.forget(USER, created.memory.id)
    with pytest.raises(RemoteServiceError) as caught:
        await memory.get_memory(USER, created.memory.id)
    assert caught.value.status_code == 404
    conn = await asyncpg.connect(postgres_url)
    try:
        left = await conn.fetchval("SELECT count(*) FROM memory_history WHERE memory_id = $1", created.memory.id)
    finally:
        await conn.close()
    assert left == 0
    assert (await memory.recall(USER, "dentist", use_cache=False)).hits == []


async def test_indexing_is_not_an_update(memory: MemoryGatewayClient, postgres_url: str) -> None:
    created = (await memory.remember(_memory("Standup is at 9:15"))).memory
    conn = await asyncpg.connect(postgres_url)
    try:
        row = await conn.fetchrow("SELECT indexed_at, created_at, updated_at FROM memories WHERE id = $1", created.id)
    finally:
        await conn.close()
    assert row is not None
    assert row["indexed_at"] is not None
    assert row["updated_at"] == row["created_at"]


async def test_session_summaries_are_never_merged(memory: MemoryGatewayClient) -> None:
    text = "Session summary: user asked about the launch plan; assistant listed the next three steps"
    first = await memory.remember(_memory(text, kind="summary", source="session:s1"))
    second = await memory.remember(_memory(text + ".", kind="summary", source="session:s1"))
    assert (first.outcome, second.outcome) == ("created", "created")
    assert first.memory.id != second.memory.id
