"""Document lifecycle through the typed client: ingest, find, list, get, re-ingest, delete."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from memory_gateway.settings import Settings
from pma_core.clients import MemoryGatewayClient, RemoteServiceError
from pma_core.contracts.documents import DocSearchRead, DocumentIngest

HANDBOOK_V1 = """# Handbook

How the team runs the stack.

## Setup

### Install
Run make dev to bootstrap uv, then start Postgres, Valkey and the four services on loopback.

### Configure
Copy the example environment file and set the embedding key for hosted embeddings.

## Operations

### Backups
Nightly pg_dump snapshots are written to the backup volume and kept for thirty days.
"""

HANDBOOK_V2 = (
    HANDBOOK_V1.replace(
        "Nightly pg_dump snapshots are written to the backup volume and kept for thirty days.",
        "Write-ahead log archiving streams every change to object storage; restores replay it.",
    )
    + "\n## Support\nPage the on-call engineer through the incident channel.\n"
)


def handbook(text: str = HANDBOOK_V1, **overrides: Any) -> DocumentIngest:
    fields: dict[str, Any] = {
        "user_id": "alice",
        "doc_key": "wiki/handbook.md",
        "title": "Team handbook",
        "source": "wiki",
        "text": text,
        "metadata": {"team": "platform"},
    }
    return DocumentIngest(**{**fields, **overrides})


def texts(found: DocSearchRead) -> list[str]:
    return [hit.text for hit in found.hits]


async def test_ingest_then_search_finds_the_chunk_with_its_heading_path(memory: MemoryGatewayClient) -> None:
    ingested = await memory.ingest_document(handbook())
    assert ingested.outcome == "created"
    assert ingested.chunks == 4
    document = ingested.document
    assert (document.user_id, document.doc_key, document.title, document.source) == (
        "alice",
        "wiki/handbook.md",
        "Team handbook",
        "wiki",
    )
    assert (document.media_type, document.metadata, document.chunk_count) == ("text/markdown", {"team": "platform"}, 4)

    found = await memory.search_docs("alice", "how do I bootstrap the services", limit=3)
    top = found.hits[0]
    assert top.heading_path == ["Handbook", "Setup", "Install"]
    assert top.text.startswith("Run make dev to bootstrap uv")
    assert (top.document_id, top.doc_key, top.title, top.ordinal) == (
        document.id,
        "wiki/handbook.md",
        "Team handbook",
        1,
    )
    assert top.parts.dense_rank is not None  # found by both retrievers
    assert top.parts.lexical_rank == 1
    assert found.took_ms > 0

    backups = (await memory.search_docs("alice", "backup snapshots", limit=1)).hits[0]
    assert backups.heading_path == ["Handbook", "Operations", "Backups"]


async def test_the_score_is_reciprocal_rank_fusion(memory: MemoryGatewayClient, gateway_settings: Settings) -> None:
    # Ranks the test knows: the query is the first chunk's own text, so that chunk is first in both
    # retrievers; the second shares no word with it (no full-text match) and, of two, is second nearest.
    k = gateway_settings.memory.rrf_k
    text = "# Notes\n\n## Crossing\nZebra crossing near the school.\n\n## Shopping\nOat milk and bananas.\n"
    ingested = await memory.ingest_document(handbook(text, doc_key="notes.md"))
    assert ingested.chunks == 2

    found = await memory.search_docs("alice", "Zebra crossing near the school.")

    zebra, milk = found.hits
    assert (zebra.text, milk.text) == ("Zebra crossing near the school.", "Oat milk and bananas.")
    assert (zebra.parts.dense_rank, zebra.parts.lexical_rank) == (1, 1)
    assert (milk.parts.dense_rank, milk.parts.lexical_rank) == (2, None)
    # 1 / (k + rank) summed over the lists a chunk is in; without `recency` and importance that is the score.
    for hit, expected in ((zebra, 1 / (k + 1) + 1 / (k + 1)), (milk, 1 / (k + 2))):
        assert hit.score == pytest.approx(expected, rel=1e-9)
        assert (hit.parts.recency, hit.parts.importance) == (1.0, 1.0)
        assert hit.parts.final == hit.parts.relevance == hit.score


async def test_list_and_get(memory: MemoryGatewayClient) -> None:
    first = (await memory.ingest_document(handbook())).document
    second = (
        await memory.ingest_document(handbook("Plain notes.", doc_key="notes.txt", media_type="text/plain"))
    ).document

    listed = await memory.list_documents("alice")
    assert [d.id for d in listed] == [second.id, first.id]  # most recently changed first
    assert [d.id for d in await memory.list_documents("alice", limit=1, offset=1)] == [first.id]
    assert [d.id for d in await memory.list_documents("alice", doc_key="notes.txt")] == [second.id]
    assert await memory.list_documents("alice", doc_key="missing") == []

    assert await memory.get_document("alice", first.id) == first


async def test_status_is_201_when_created_and_200_after(memory: MemoryGatewayClient) -> None:
    body = handbook().model_dump(mode="json")
    created = await memory.request("PUT", "/v1/documents", json=body)
    assert (created.status_code, created.json()["outcome"]) == (201, "created")
    unchanged = await memory.request("PUT", "/v1/documents", json=body)
    assert (unchanged.status_code, unchanged.json()["outcome"]) == (200, "unchanged")
    replaced = await memory.request("PUT", "/v1/documents", json={**body, "text": HANDBOOK_V2})
    assert (replaced.status_code, replaced.json()["outcome"]) == (200, "replaced")


async def test_reingest_replaces_the_chunks(memory: MemoryGatewayClient) -> None:
    first = await memory.ingest_document(handbook())
    before = await memory.search_docs("alice", "pg_dump snapshots thirty days")
    assert "pg_dump" in before.hits[0].text

    second = await memory.ingest_document(handbook(HANDBOOK_V2))
    assert second.outcome == "replaced"
    assert second.chunks == second.document.chunk_count == 5
    assert second.document.id == first.document.id  # same document, new chunks
    assert second.document.created_at == first.document.created_at
    assert second.document.updated_at > first.document.updated_at

    after = await memory.search_docs("alice", "pg_dump snapshots thirty days", limit=100)
    assert not any("pg_dump" in text for text in texts(after))
    assert len(after.hits) == 5  # only the new version's chunks exist
    assert {hit.chunk_id for hit in after.hits}.isdisjoint({hit.chunk_id for hit in before.hits})
    archiving = (await memory.search_docs("alice", "write-ahead log archiving", limit=1)).hits[0]
    assert archiving.heading_path == ["Handbook", "Operations", "Backups"]
    support = (await memory.search_docs("alice", "page the on-call engineer", limit=1)).hits[0]
    assert support.heading_path == ["Handbook", "Support"]


async def test_identical_reingest_is_unchanged_and_rewrites_nothing(memory: MemoryGatewayClient) -> None:
    first = await memory.ingest_document(handbook())
    hits_before = await memory.search_docs("alice", "bootstrap", limit=100)

    again = await memory.ingest_document(handbook())
    assert again.outcome == "unchanged"
    assert again.chunks == 0
    assert again.document == first.document  # not even updated_at moved

    hits_after = await memory.search_docs("alice", "bootstrap", limit=100)
    assert [h.chunk_id for h in hits_after.hits] == [h.chunk_id for h in hits_before.hits]


async def test_concurrent_first_ingests_create_one_document(memory: MemoryGatewayClient) -> None:
    results = await asyncio.gather(*(memory.ingest_document(handbook()) for _ in range(5)))
    assert sorted(r.outcome for r in results) == ["created", "unchanged", "unchanged", "unchanged", "unchanged"]
    assert len({r.document.id for r in results}) == 1
    assert len((await memory.search_docs("alice", "bootstrap", limit=100)).hits) == 4  # one set of chunks


async def test_any_change_to_what_is_stored_replaces(memory: MemoryGatewayClient) -> None:
    await memory.ingest_document(handbook())
    # Each call differs from the one before it in one field only (the next change resets the previous one).
    for change in ({"title": "Renamed"}, {"metadata": {"team": "data"}}, {"chunk_chars": 300}, {"source": "git"}):
        replaced = await memory.ingest_document(handbook(**change))
        assert replaced.outcome == "replaced", change
    assert replaced.document.source == "git"


async def test_delete_removes_the_document_and_its_chunks(memory: MemoryGatewayClient) -> None:
    document = (await memory.ingest_document(handbook())).document
    kept = (await memory.ingest_document(handbook("Keep this note about bootstrap.", doc_key="keep.md"))).document

    await memory.delete_document("alice", document.id)

    with pytest.raises(RemoteServiceError) as caught:
        await memory.get_document("alice", document.id)
    assert caught.value.status_code == 404
    assert [d.id for d in await memory.list_documents("alice")] == [kept.id]
    found = await memory.search_docs("alice", "bootstrap the services", limit=100)
    assert {hit.document_id for hit in found.hits} == {kept.id}
    with pytest.raises(RemoteServiceError) as again:
        await memory.delete_document("alice", document.id)
    assert again.value.status_code == 404

    recreated = await memory.ingest_document(handbook())
    assert recreated.outcome == "created"
    assert recreated.document.id != document.id


async def test_a_document_of_headings_only_is_stored_without_chunks(memory: MemoryGatewayClient) -> None:
    stub = await memory.ingest_document(handbook("# Title\n\n## Later\n", doc_key="stub.md"))
    assert (stub.outcome, stub.chunks, stub.document.chunk_count) == ("created", 0, 0)
    filled = await memory.ingest_document(handbook("# Title\n\n## Later\nNow it has words.", doc_key="stub.md"))
    assert (filled.outcome, filled.chunks) == ("replaced", 1)
    assert (await memory.search_docs("alice", "words", doc_keys=["stub.md"])).hits[0].heading_path == [
        "Title",
        "Later",
    ]
