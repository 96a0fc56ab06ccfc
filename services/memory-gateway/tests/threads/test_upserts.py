"""Upserting daily threads over real HTTP: created, updated or unchanged by key; refused input is a 422."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import asyncpg
import httpx
import pytest

from memory_gateway.main import create_app
from memory_gateway.settings import Settings
from pma_core.clients import MemoryGatewayClient
from pma_core.testing.fake_openai import FakeOpenAIServer
from pma_core.testing.serve import serve

from .conftest import MONDAY, SwitchableQdrant, point_ids, thread

BODY: dict[str, Any] = {
    "user_id": "alice",
    "key": "2026-11-23|daily",
    "kind": "daily",
    "period_start": "2026-11-23",
    "period_end": "2026-11-23",
    "text": "Shipped the newsletter; the afternoon went to email.",
}


async def _row(db: asyncpg.Connection, thread_id: object) -> asyncpg.Record:
    row = await db.fetchrow("SELECT updated_at, indexed_at, content_hash FROM daily_threads WHERE id = $1", thread_id)
    assert row is not None
    return row


async def test_a_new_key_is_created_and_reads_back_whole(
    http: httpx.AsyncClient, memory: MemoryGatewayClient, qdrant: SwitchableQdrant
) -> None:
    response = await http.put("/v1/daily_threads", json={**BODY, "metadata": {"energy": "low", "meetings": 3}})
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["outcome"] == "created"
    stored = body["thread"]
    assert (stored["key"], stored["kind"], stored["period_start"], stored["period_end"]) == (
        "2026-11-23|daily",
        "daily",
        "2026-11-23",
        "2026-11-23",
    )
    assert stored["metadata"] == {"energy": "low", "meetings": 3}
    read = await memory.get_daily_thread("alice", stored["id"])
    assert read.model_dump(mode="json") == stored
    # Indexed within the request: the point is there, with the thread's owner and kind.
    (point,) = await qdrant.retrieve("daily_threads", [stored["id"]])
    assert (point.payload["user_id"], point.payload["kind"]) == ("alice", "daily")
    assert point.payload["created_at"] == "2026-11-23T00:00:00Z"


async def test_the_same_key_with_other_content_is_updated_and_reindexed(
    http: httpx.AsyncClient, db: asyncpg.Connection, qdrant: SwitchableQdrant
) -> None:
    created = (await http.put("/v1/daily_threads", json=BODY)).json()["thread"]
    (before,) = await qdrant.retrieve("daily_threads", [created["id"]])

    weekly = {**BODY, "kind": "weekly", "period_end": "2026-11-29", "text": "A week of migrations and reviews."}
    response = await http.put("/v1/daily_threads", json=weekly)
    assert response.status_code == 200
    assert response.json()["outcome"] == "updated"
    updated = response.json()["thread"]
    assert updated["id"] == created["id"]  # the same thread, changed in place
    assert (updated["kind"], updated["period_end"], updated["text"]) == (
        "weekly",
        "2026-11-29",
        "A week of migrations and reviews.",
    )
    assert updated["created_at"] == created["created_at"]
    assert updated["updated_at"] > created["updated_at"]

    (after,) = await qdrant.retrieve("daily_threads", [created["id"]])
    assert after.payload["kind"] == "weekly"
    assert after.vector != before.vector  # the new text was embedded
    assert (await _row(db, created["id"]))["indexed_at"] is not None


async def test_a_metadata_change_alone_is_an_update(http: httpx.AsyncClient) -> None:
    await http.put("/v1/daily_threads", json=BODY)
    response = await http.put("/v1/daily_threads", json={**BODY, "metadata": {"mood": "calm"}})
    assert (response.status_code, response.json()["outcome"]) == (200, "updated")
    assert response.json()["thread"]["metadata"] == {"mood": "calm"}


async def test_an_identical_upsert_is_unchanged_and_writes_nothing(
    http: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    created = (await http.put("/v1/daily_threads", json={**BODY, "metadata": {"a": 1, "b": [1, 2]}})).json()
    before = await _row(db, created["thread"]["id"])
    # The same content, its metadata keys in another order: still the same thread.
    again = await http.put("/v1/daily_threads", json={**BODY, "metadata": {"b": [1, 2], "a": 1}})
    assert again.status_code == 200
    assert again.json() == {"thread": created["thread"], "outcome": "unchanged"}
    assert await _row(db, created["thread"]["id"]) == before  # same updated_at, indexed_at and hash


async def test_an_unchanged_upsert_sends_nothing_to_the_embedder(
    gateway_settings: Settings, fake_openai: FakeOpenAIServer
) -> None:
    # The repair loop is kept out of the count: on a loaded machine it can take the new row while the
    # upsert's own indexing is still in flight and embed it a second time (harmless, but not what is counted).
    settings = gateway_settings.model_copy(
        update={
            "embedding": fake_openai.embedding_settings(),
            "llm": fake_openai.llm_settings(),
            "memory": gateway_settings.memory.model_copy(update={"index_repair_interval_seconds": 3600}),
        }
    )
    first = thread("2026-11-23|daily", "Deep work all morning, then a long walk")
    async with serve(create_app(settings)) as url:
        client = MemoryGatewayClient(url, timeout=10, retries=0)
        try:
            before = len(fake_openai.embedding_requests)
            assert (await client.upsert_daily_thread(first)).outcome == "created"
            created = len(fake_openai.embedding_requests)
            assert (await client.upsert_daily_thread(first)).outcome == "unchanged"
            unchanged = len(fake_openai.embedding_requests)
            changed = first.model_copy(update={"text": "Deep work all morning, then errands"})
            assert (await client.upsert_daily_thread(changed)).outcome == "updated"
        finally:
            await client.aclose()
    embedded = [text for r in fake_openai.embedding_requests[before:] for text in r.body["input"]]
    assert (created - before, unchanged - created) == (1, 0)
    assert embedded == ["Deep work all morning, then a long walk", "Deep work all morning, then errands"]


async def test_keys_are_per_user(memory: MemoryGatewayClient) -> None:
    alice = await memory.upsert_daily_thread(thread("shared-key", "Alice's day"))
    bob = await memory.upsert_daily_thread(thread("shared-key", "Bob's day", user_id="bob"))
    assert (alice.outcome, bob.outcome) == ("created", "created")
    assert alice.thread.id != bob.thread.id
    assert (await memory.get_daily_thread("alice", alice.thread.id)).text == "Alice's day"


async def test_a_week_is_the_longest_period(memory: MemoryGatewayClient, qdrant: SwitchableQdrant) -> None:
    week = await memory.upsert_daily_thread(thread("week-48", "The whole week", kind="weekly", days=7))
    assert week.thread.period_end - week.thread.period_start == timedelta(days=6)
    assert await point_ids(qdrant, [week.thread.id]) == {week.thread.id}


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"period_end": "2026-11-30"}, "body"),  # 8 days, both ends included
        ({"period_end": "2026-11-22"}, "body"),  # ends before it starts
        ({"kind": "monthly"}, "body.kind"),
        ({"key": ""}, "body.key"),
        ({"key": " 2026-11-23|daily"}, "body.key"),
        ({"key": "k" * 101}, "body.key"),
        ({"text": ""}, "body.text"),
        ({"text": "   \n"}, "body.text"),
        ({"text": "x" * 16_001}, "body.text"),
        ({"period_start": 1795392000}, "body.period_start"),  # a number is not a date
        ({"period_start": "2026-11-23T00:00:00Z"}, "body.period_start"),
        ({"period_start": "23.11.2026"}, "body.period_start"),
        ({"metadata": ["not", "an", "object"]}, "body.metadata"),
        ({"user_id": "has space"}, "body.user_id"),
        ({"unknown": 1}, "body.unknown"),
    ],
)
async def test_invalid_upserts_are_422(http: httpx.AsyncClient, changes: dict[str, Any], field: str) -> None:
    response = await http.put("/v1/daily_threads", json={**BODY, **changes})
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert error["details"][0]["field"] == field
    listed = await http.get("/v1/daily_threads", params={"user_id": "alice"})
    assert listed.json() == {"threads": []}  # nothing was stored


async def test_the_longest_text_is_accepted(memory: MemoryGatewayClient) -> None:
    long = await memory.upsert_daily_thread(thread("long", "word " * 3_199 + "words"))
    assert len(long.thread.text) == 16_000
    assert long.thread.period_start == MONDAY
