"""Overflow and flush: old turns become summary memories first, then leave Valkey; nothing is lost or doubled.

The gateway here keeps 4 turns per session and moves overflow in chunks of 2 (`small_memory`).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable

import asyncpg
import pytest
import valkey.asyncio as valkey_asyncio

from memory_gateway.adapters.sessions import SessionKeys
from pma_core.clients import MemoryGatewayClient, RemoteServiceError
from pma_core.contracts.memory import RecallFilters
from pma_core.contracts.sessions import AppendRead, TurnCreate
from pma_core.errors import UpstreamError

USER = "alice"
KeysOf = Callable[[str, str], SessionKeys]
TURNS = [
    "We should migrate the billing service to Postgres. It keeps timing out.",
    "Agreed, the nightly invoices job fails twice a week! Let us plan it.",
    "Step one is a read replica for reporting queries.",
    "Then we move the writers during the Sunday maintenance window.",
    "Remember to tell the finance team before the switch.",
    "I will draft the announcement tomorrow morning.",
    "Also book a rollback rehearsal for Thursday.",
]


def _turn(n: int) -> TurnCreate:
    return TurnCreate(user_id=USER, role="user" if n % 2 else "assistant", content=TURNS[n - 1])


async def _append(memory: MemoryGatewayClient, *numbers: int, session_id: str = "billing") -> list[AppendRead]:
    return [await memory.append_turn(session_id, _turn(n)) for n in numbers]


@pytest.fixture
async def db(postgres_url: str) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(postgres_url)
    yield conn
    await conn.close()


async def _summaries(db: asyncpg.Connection) -> list[asyncpg.Record]:
    return await db.fetch(
        "SELECT id FROM memories WHERE user_id = $1 AND kind = 'summary' ORDER BY created_at",
        USER,
    )


async def test_overflow_keeps_the_latest_turns_and_writes_one_summary(
    small_memory: MemoryGatewayClient, db: asyncpg.Connection, raw_valkey: valkey_asyncio.Valkey, keys_of: KeysOf
) -> None:
    *_, fifth, sixth = await _append(small_memory, 1, 2, 3, 4, 5, 6)
    assert (fifth.moved_to_long_term, fifth.turns_kept, fifth.overflow_pending) == ([], 5, 1)
    (moved,) = sixth.moved_to_long_term
    assert (moved.first_seq, moved.last_seq, moved.turns, moved.outcome) == (1, 2, 2, "created")
    assert (sixth.turns_kept, sixth.overflow_pending) == (4, 0)

    session = await small_memory.read_turns(USER, "billing")
    assert [t.seq for t in session.turns] == [3, 4, 5, 6]
    assert await raw_valkey.llen(keys_of(USER, "billing").turns) == 4  # type: ignore[misc]

    assert [row["id"] for row in await _summaries(db)] == [moved.memory_id]
    summary = await small_memory.get_memory(USER, moved.memory_id)
    assert (summary.kind, summary.source) == ("summary", "session:billing")
    assert summary.metadata == {"session_id": "billing", "first_seq": 1, "last_seq": 2, "turns": 2}
    assert summary.text.splitlines() == [
        "Conversation billing, turns 1-2:",
        "user: We should migrate the billing service to Postgres.",
        "assistant: Agreed, the nightly invoices job fails twice a week!",
    ]
    found = await small_memory.recall(USER, "billing service Postgres migration", use_cache=False)
    assert found.hits[0].memory.id == moved.memory_id
    assert found.hits[0].memory.kind == "summary"


async def test_a_retried_overflow_replays_instead_of_storing_twice(
    small_memory: MemoryGatewayClient, db: asyncpg.Connection, raw_valkey: valkey_asyncio.Valkey, keys_of: KeysOf
) -> None:
    keys = keys_of(USER, "billing")
    await _append(small_memory, 1, 2, 3, 4, 5)
    oldest = await raw_valkey.lrange(keys.turns, 0, 1)  # type: ignore[misc]
    (sixth,) = await _append(small_memory, 6)
    (first_move,) = sixth.moved_to_long_term

    # A crash between remember and the trim: the chunk is in long-term memory AND still in Valkey.
    await raw_valkey.lpush(keys.turns, *reversed(oldest))  # type: ignore[misc]
    (seventh,) = await _append(small_memory, 7)
    (retry,) = seventh.moved_to_long_term
    assert (retry.memory_id, retry.outcome, retry.first_seq, retry.last_seq) == (first_move.memory_id, "replayed", 1, 2)
    assert len(await _summaries(db)) == 1
    assert [t.seq for t in (await small_memory.read_turns(USER, "billing")).turns] == [3, 4, 5, 6, 7]


async def test_when_long_term_memory_fails_the_turns_stay_and_move_later(
    small_memory: MemoryGatewayClient, db: asyncpg.Connection
) -> None:
    await db.execute(
        "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'refused'; END $$;"
        "CREATE TRIGGER refuse BEFORE INSERT ON memories FOR EACH ROW EXECUTE FUNCTION refuse();"
    )
    *_, sixth = await _append(small_memory, 1, 2, 3, 4, 5, 6)
    assert (sixth.moved_to_long_term, sixth.turns_kept, sixth.overflow_pending) == ([], 6, 2)
    with pytest.raises(UpstreamError):
        await small_memory.flush_session(USER, "billing")
    assert [t.seq for t in (await small_memory.read_turns(USER, "billing")).turns] == [1, 2, 3, 4, 5, 6]

    await db.execute("DROP TRIGGER refuse ON memories")
    (seventh,) = await _append(small_memory, 7)
    assert [(m.first_seq, m.last_seq) for m in seventh.moved_to_long_term] == [(1, 2)]
    assert (seventh.turns_kept, seventh.overflow_pending) == (5, 1)
    assert len(await _summaries(db)) == 1


async def test_flush_moves_everything_and_clears_the_session(
    small_memory: MemoryGatewayClient, db: asyncpg.Connection, raw_valkey: valkey_asyncio.Valkey, keys_of: KeysOf
) -> None:
    await _append(small_memory, 1, 2, 3)
    flushed = await small_memory.flush_session(USER, "billing")
    assert [(m.first_seq, m.last_seq, m.outcome) for m in flushed.moved_to_long_term] == [
        (1, 2, "created"),
        (3, 3, "created"),
    ]
    assert (flushed.turns_flushed, flushed.session_cleared) == (3, True)
    assert await small_memory.list_sessions(USER) == []
    assert not await raw_valkey.exists(*vars(keys_of(USER, "billing")).values())
    with pytest.raises(RemoteServiceError) as caught:
        await small_memory.flush_session(USER, "billing")
    assert caught.value.status_code == 404

    # The same id again is a new session: numbered from 1, and its summaries are new memories.
    await _append(small_memory, 4, 5)
    again = await small_memory.flush_session(USER, "billing")
    assert [(m.first_seq, m.last_seq, m.outcome) for m in again.moved_to_long_term] == [(1, 2, "created")]
    assert len(await _summaries(db)) == 3
    hits = await small_memory.recall(
        USER, "finance team announcement", filters=RecallFilters(kinds=["summary"]), use_cache=False
    )
    assert hits.hits[0].memory.id == again.moved_to_long_term[0].memory_id


async def test_concurrent_appends_move_each_turn_exactly_once(
    small_memory: MemoryGatewayClient, db: asyncpg.Connection
) -> None:
    words = "amber birch cedar delta ember fjord glacier harbor iris juniper kelp lagoon meadow nectar onyx prairie"
    contents = [f"{word} {n} is on the agenda." for n, word in enumerate(words.split())]
    await asyncio.gather(
        *(small_memory.append_turn("busy", TurnCreate(user_id=USER, role="user", content=c)) for c in contents)
    )

    ranges = [json.loads(row["metadata"]) for row in await db.fetch("SELECT metadata FROM memories")]
    moved = [seq for r in ranges for seq in range(r["first_seq"], r["last_seq"] + 1)]
    kept = [t.seq for t in (await small_memory.read_turns(USER, "busy", last=200)).turns]
    assert sorted(moved + kept) == list(range(1, len(contents) + 1))  # every turn once: moved or kept
    assert len(kept) >= 4
