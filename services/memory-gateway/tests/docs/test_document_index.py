"""The vector index follows Postgres: a document's points are exactly its current chunks."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from uuid import UUID

import asyncpg

from pma_core.clients import MemoryGatewayClient
from pma_core.contracts.documents import DocumentIngest

RunGateway = Callable[[], AbstractAsyncContextManager[MemoryGatewayClient]]
DocPoints = Callable[[str, UUID, Sequence[UUID]], Awaitable[tuple[int, set[UUID]]]]
ChunkRows = Callable[[UUID], Awaitable[list[asyncpg.Record]]]

VERSION_1 = "# Guide\n## One\nFirst section text.\n## Two\nSecond section text.\n## Three\nThird section text."
VERSION_2 = "# Guide\n## One\nRewritten first section.\n## Two\nRewritten second section."


def guide(text: str, doc_key: str = "guide.md") -> DocumentIngest:
    return DocumentIngest(user_id="alice", doc_key=doc_key, text=text)


async def test_reingest_leaves_exactly_the_new_chunks_in_qdrant(
    run_gateway: RunGateway, doc_points: DocPoints, chunk_rows: ChunkRows
) -> None:
    async with run_gateway() as memory:
        first = await memory.ingest_document(guide(VERSION_1))
        old_rows = await chunk_rows(first.document.id)
        second = await memory.ingest_document(guide(VERSION_2))
        assert (first.chunks, second.chunks) == (3, 2)

    rows = await chunk_rows(second.document.id)
    assert [(r["ordinal"], r["heading_path"], r["text"]) for r in rows] == [
        (0, ["Guide", "One"], "Rewritten first section."),
        (1, ["Guide", "Two"], "Rewritten second section."),
    ]
    assert all(row["indexed_at"] is not None for row in rows)
    new_ids = [row["id"] for row in rows]
    old_ids = [row["id"] for row in old_rows]
    count, present = await doc_points("alice", second.document.id, [*new_ids, *old_ids])
    assert count == len(rows) == second.document.chunk_count
    assert present == set(new_ids)


async def test_delete_removes_the_points_and_keeps_other_documents(
    run_gateway: RunGateway, doc_points: DocPoints, chunk_rows: ChunkRows
) -> None:
    async with run_gateway() as memory:
        doomed = (await memory.ingest_document(guide(VERSION_1))).document
        doomed_ids = [row["id"] for row in await chunk_rows(doomed.id)]
        kept = (await memory.ingest_document(guide(VERSION_2, doc_key="kept.md"))).document
        await memory.delete_document("alice", doomed.id)

    assert await chunk_rows(doomed.id) == []
    assert await doc_points("alice", doomed.id, doomed_ids) == (0, set())
    kept_ids = [row["id"] for row in await chunk_rows(kept.id)]
    assert await doc_points("alice", kept.id, kept_ids) == (2, set(kept_ids))


async def test_an_unchanged_reingest_leaves_the_index_alone(
    run_gateway: RunGateway, doc_points: DocPoints, chunk_rows: ChunkRows
) -> None:
    async with run_gateway() as memory:
        document = (await memory.ingest_document(guide(VERSION_1))).document
        before = await chunk_rows(document.id)
        assert (await memory.ingest_document(guide(VERSION_1))).outcome == "unchanged"
    after = await chunk_rows(document.id)
    assert after == before  # same ids, same indexed_at: nothing was rewritten or re-embedded
    ids = [row["id"] for row in after]
    assert await doc_points("alice", document.id, ids) == (3, set(ids))
