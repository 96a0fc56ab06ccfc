"""The `daily_threads` collection follows the table: a failed write is repaired, a reindex rebuilds it from
Postgres, and deleting a user removes their threads and points."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import timedelta
from typing import Any
from uuid import UUID

import asyncpg
import httpx
import pytest

from pma_core.clients import MemoryGatewayClient
from pma_core.contracts.daily_threads import SimilarDaysRequest
from pma_core.embedders import HashingEmbedder
from pma_core.vectors import VectorFilter

from .conftest import COLLECTION, MONDAY, SwitchableQdrant, point_ids, thread, upsert_all


async def _pending(db: asyncpg.Connection, ids: Sequence[UUID]) -> set[UUID]:
    rows = await db.fetch("SELECT id FROM daily_threads WHERE id = ANY($1::uuid[]) AND indexed_at IS NULL", list(ids))
    return {row["id"] for row in rows}


async def _until_indexed(db: asyncpg.Connection, ids: Sequence[UUID]) -> None:
    for _ in range(100):  # the repair loop runs every 0.2 s in these tests
        if not await _pending(db, ids):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"still pending: {await _pending(db, ids)}")


async def test_a_write_qdrant_refused_is_repaired_later(
    memory: MemoryGatewayClient, qdrant: SwitchableQdrant, db: asyncpg.Connection
) -> None:
    kept = (await memory.upsert_daily_thread(thread("tuesday", "Planning the garden", start=MONDAY))).thread
    (old_point,) = await qdrant.retrieve(COLLECTION, [str(kept.id)])

    qdrant.down = True
    created = await memory.upsert_daily_thread(thread("wednesday", "Pottery class in the evening"))
    changed = await memory.upsert_daily_thread(thread("tuesday", "Planted tulips in the garden", start=MONDAY))
    # Postgres took both writes; the index did not, and the rows say so.
    assert (created.outcome, changed.outcome) == ("created", "updated")
    assert await _pending(db, [created.thread.id, kept.id]) == {created.thread.id, kept.id}
    assert await point_ids(qdrant, [created.thread.id]) == set()
    # Meanwhile the thread is found all the same, by full-text search.
    found = await memory.similar_days(SimilarDaysRequest(user_id="alice", text="pottery class"))
    ranks = {hit.thread.id: (hit.parts.dense_rank, hit.parts.lexical_rank) for hit in found.hits}
    assert ranks[created.thread.id] == (None, 1)

    qdrant.down = False
    await _until_indexed(db, [created.thread.id, kept.id])
    assert await point_ids(qdrant, [created.thread.id, kept.id]) == {created.thread.id, kept.id}
    (new_point,) = await qdrant.retrieve(COLLECTION, [str(kept.id)])
    [expected] = await HashingEmbedder(384).embed(["Planted tulips in the garden"])
    assert new_point.vector == _approx(expected)  # the repaired point holds the new text
    assert new_point.vector != _approx(old_point.vector)
    found = await memory.similar_days(SimilarDaysRequest(user_id="alice", text="pottery class"))
    assert (found.hits[0].thread.id, found.hits[0].parts.dense_rank) == (created.thread.id, 1)


def _approx(vector: Sequence[float]) -> Any:
    return pytest.approx(list(vector), abs=1e-5)


async def _reindex(http: httpx.AsyncClient, body: dict[str, Any]) -> dict[str, Any]:
    started = await http.post("/v1/admin/reindex", json=body)
    assert started.status_code == 202, started.text
    for _ in range(100):
        status: dict[str, Any] = (await http.get("/v1/admin/reindex")).json()
        if status["state"] != "running":
            return status
        await asyncio.sleep(0.1)
    raise AssertionError("reindex did not finish")


async def test_reindex_rebuilds_the_collection_from_the_table(
    memory: MemoryGatewayClient, http: httpx.AsyncClient, qdrant: SwitchableQdrant, db: asyncpg.Connection
) -> None:
    days = [thread(f"day-{i}", f"Day {i}: writing and reviews", start=MONDAY + timedelta(days=i)) for i in range(3)]
    ids = [t.id for t in (await upsert_all(memory, days)).values()]
    # The collection loses its points (a wiped volume, a dropped collection recreated empty).
    await qdrant.delete(COLLECTION, [str(i) for i in ids])
    assert await qdrant.count(COLLECTION, VectorFilter(user_id="alice")) == 0

    status = await _reindex(http, {"collections": ["daily_threads"]})

    assert status["state"] == "done", status
    assert (status["collections"], status["done"], status["total"]) == (["daily_threads"], 3, 3)
    assert await point_ids(qdrant, ids) == set(ids)
    assert await _pending(db, ids) == set()
    # A reindex of everything covers the daily threads too.
    assert "daily_threads" in (await _reindex(http, {}))["collections"]


async def test_deleting_a_user_removes_their_threads_and_points_and_nothing_else(
    memory: MemoryGatewayClient, qdrant: SwitchableQdrant
) -> None:
    alices = await upsert_all(memory, [thread("mon", "Alice's Monday"), thread("tue", "Alice's Tuesday")])
    bobs = (await memory.upsert_daily_thread(thread("mon", "Bob's Monday", user_id="bob"))).thread

    deleted = await memory.delete_user("alice")

    assert deleted["daily_threads"] == 2
    assert (await memory.list_daily_threads("alice")).threads == []
    assert await qdrant.count(COLLECTION, VectorFilter(user_id="alice")) == 0
    assert await point_ids(qdrant, [t.id for t in alices.values()]) == set()
    assert (await memory.get_daily_thread("bob", bobs.id)).text == "Bob's Monday"
    assert await point_ids(qdrant, [bobs.id]) == {bobs.id}
