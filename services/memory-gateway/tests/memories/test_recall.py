"""recall over HTTP: hybrid ranking explained, filters, validity, MMR, caching and its invalidation."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from pma_core.clients import MemoryGatewayClient
from pma_core.contracts.memory import MemoryCreate, MemoryItem, RecallFilters

USER = "alice"


async def _seed(memory: MemoryGatewayClient) -> None:
    await memory.remember_batch(
        USER,
        [
            MemoryItem(text="No deep work before 10am", kind="preference", source="planner", importance=0.9),
            MemoryItem(text="Newsletter drafts are written in Coda", kind="fact", source="coda"),
            MemoryItem(text="Decided to ship the newsletter every Friday", kind="decision", source="planner"),
            MemoryItem(text="Felt tired after late meetings", kind="observation", metadata={"mood": "low"}),
        ],
    )


async def test_the_best_match_comes_first_and_explains_itself(memory: MemoryGatewayClient) -> None:
    await _seed(memory)
    result = await memory.recall(USER, "when is the newsletter shipped?", use_cache=False)
    top = result.hits[0]
    assert top.memory.text == "Decided to ship the newsletter every Friday"
    assert top.parts.dense_rank == 1
    assert top.parts.lexical_rank is not None
    assert top.parts.final == pytest.approx(top.parts.relevance * top.parts.recency * top.parts.importance)
    assert top.score == top.parts.final
    assert [h.score for h in result.hits] == sorted((h.score for h in result.hits), reverse=True)


async def test_a_rare_shared_word_outweighs_a_common_one(memory: MemoryGatewayClient) -> None:
    """Plain full-text ranking scores one shared word like any other and prefers the newest of equals, so
    the oldest memory, the only one with the question's rare word, would come last of forty."""
    await memory.remember(MemoryCreate(user_id=USER, text="Illustrations are made in Procreate", kind="fact"))
    await memory.remember_batch(
        USER,
        [MemoryItem(text=f"Drawing session {n} for client {n * 7} went long", kind="observation") for n in range(40)],
    )
    result = await memory.recall(USER, "which app do I draw illustrations in?", limit=3, use_cache=False)
    top = result.hits[0]
    assert top.memory.text == "Illustrations are made in Procreate"
    assert top.parts.lexical_rank == 1
    others = [h.parts.lexical_score for h in result.hits[1:]]
    assert all(score is not None and top.parts.lexical_score > 2 * score for score in others)


async def test_word_weights_follow_the_store_as_it_grows(memory: MemoryGatewayClient) -> None:
    """idf = ln(1 + (N - df + 0.5) / (df + 0.5)), N the user's memories, df those holding the word; the N
    kept between recalls must follow every write."""
    await memory.remember(MemoryCreate(user_id=USER, text="The zebra crossing is outside the office"))
    alone = await memory.recall(USER, "zebra", use_cache=False)
    assert alone.hits[0].parts.lexical_score == pytest.approx(math.log(1 + 0.5 / 1.5))
    await memory.remember_batch(USER, [MemoryItem(text=f"Standup number {n} ran late") for n in range(9)])
    among_ten = await memory.recall(USER, "zebra", use_cache=False)
    assert among_ten.hits[0].parts.lexical_score == pytest.approx(math.log(1 + 9.5 / 1.5))


async def test_filters_on_kind_source_metadata_and_time(memory: MemoryGatewayClient) -> None:
    await _seed(memory)
    by_kind = await memory.recall(USER, "newsletter", filters=RecallFilters(kinds=["fact"]), use_cache=False)
    assert {h.memory.kind for h in by_kind.hits} == {"fact"}
    by_source = await memory.recall(USER, "work", filters=RecallFilters(sources=["planner"]), use_cache=False)
    assert {h.memory.source for h in by_source.hits} == {"planner"}
    by_meta = await memory.recall(USER, "meetings", filters=RecallFilters(metadata={"mood": "low"}), use_cache=False)
    assert [h.memory.text for h in by_meta.hits] == ["Felt tired after late meetings"]
    future = RecallFilters(created_after=datetime.now(UTC) + timedelta(days=1))
    assert (await memory.recall(USER, "newsletter", filters=future, use_cache=False)).hits == []


async def test_superseded_and_expired_are_left_out_unless_asked(memory: MemoryGatewayClient) -> None:
    old = await memory.remember(MemoryCreate(user_id=USER, text="Lives in Berlin", key="home.city"))
    await memory.remember(MemoryCreate(user_id=USER, text="Lives in Lisbon now", key="home.city"))
    await memory.remember(
        MemoryCreate(
            user_id=USER,
            text="Lives at the Lisbon hotel this week",
            expires_at=datetime.now(UTC) + timedelta(seconds=1),
        )
    )
    import asyncio

    await asyncio.sleep(1.1)
    current = await memory.recall(USER, "where does she live", use_cache=False)
    assert [h.memory.text for h in current.hits] == ["Lives in Lisbon now"]
    everything = await memory.recall(
        USER,
        "where does she live",
        filters=RecallFilters(include_superseded=True, include_expired=True),
        use_cache=False,
    )
    statuses = {h.memory.text: h.memory.status for h in everything.hits}
    assert statuses["Lives in Berlin"] == "superseded"
    assert statuses["Lives at the Lisbon hotel this week"] == "expired"
    assert any(h.memory.id == old.memory.id for h in everything.hits)


async def test_mmr_trades_a_near_copy_for_a_different_hit(memory: MemoryGatewayClient) -> None:
    await memory.remember_batch(
        USER,
        [
            MemoryItem(text="Coffee with Sam on Monday morning about the launch plan"),
            MemoryItem(text="Coffee with Sam on Monday morning about the launch plan and budget", kind="observation"),
            MemoryItem(text="Launch plan review with the design team", kind="decision"),
        ],
    )
    plain = await memory.recall(USER, "coffee with Sam launch plan", limit=2, use_cache=False)
    diverse = await memory.recall(
        USER, "coffee with Sam launch plan", limit=2, mmr=True, mmr_lambda=0.3, use_cache=False
    )
    assert all("Coffee" in h.memory.text for h in plain.hits)
    assert any("design team" in h.memory.text for h in diverse.hits)


async def test_recall_is_cached_and_any_write_clears_the_cache(memory: MemoryGatewayClient) -> None:
    await _seed(memory)
    first = await memory.recall(USER, "newsletter")
    second = await memory.recall(USER, "newsletter")
    assert (first.cached, second.cached) == (False, True)
    assert [h.memory.id for h in second.hits] == [h.memory.id for h in first.hits]
    await memory.remember(MemoryCreate(user_id=USER, text="The newsletter moved to Thursdays", kind="decision"))
    third = await memory.recall(USER, "newsletter")
    assert third.cached is False
    assert "The newsletter moved to Thursdays" in [h.memory.text for h in third.hits]


async def test_other_users_writes_keep_my_cache(memory: MemoryGatewayClient) -> None:
    await _seed(memory)
    await memory.recall(USER, "newsletter")
    await memory.remember(MemoryCreate(user_id="bob", text="Bob's newsletter is monthly"))
    assert (await memory.recall(USER, "newsletter")).cached is True


async def test_a_row_the_index_missed_is_repaired(memory: MemoryGatewayClient, postgres_url: str) -> None:
    created = await memory.remember(MemoryCreate(user_id=USER, text="Quarterly taxes are due in April"))
    conn = await asyncpg.connect(postgres_url)
    try:
        # As if the Qdrant write had failed: the row is pending again.
        await conn.execute("UPDATE memories SET indexed_at = NULL WHERE id = $1", created.memory.id)
        import asyncio

        for _ in range(50):
            await asyncio.sleep(0.1)
            if await conn.fetchval("SELECT indexed_at FROM memories WHERE id = $1", created.memory.id):
                break
        assert await conn.fetchval("SELECT indexed_at FROM memories WHERE id = $1", created.memory.id) is not None
    finally:
        await conn.close()
