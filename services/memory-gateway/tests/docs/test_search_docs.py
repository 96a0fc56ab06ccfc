"""search_docs ranking: hybrid retrieval (each retriever finds what the other misses), scoping, MMR, recency."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest

from memory_gateway.main import create_app
from memory_gateway.settings import MemorySettings, Settings
from pma_core.clients import MemoryGatewayClient
from pma_core.contracts.documents import DocumentIngest
from pma_core.testing.serve import serve


def plain(doc_key: str, text: str, user_id: str = "alice") -> DocumentIngest:
    return DocumentIngest(user_id=user_id, doc_key=doc_key, text=text, media_type="text/plain")


@pytest.fixture
async def few_candidates(gateway_settings: Settings) -> AsyncIterator[MemoryGatewayClient]:
    """A gateway taking only 10 candidates from each retriever, so one can miss what the other finds."""
    memory_settings = MemorySettings(candidates=10, index_repair_interval_seconds=0.2)
    settings = gateway_settings.model_copy(update={"memory": memory_settings})
    async with serve(create_app(settings)) as url:
        client = MemoryGatewayClient(url, timeout=30.0, retries=0)
        yield client
        await client.aclose()


async def _corpus(memory: MemoryGatewayClient) -> None:
    await memory.ingest_document(plain("study.txt", "Every study needs a control group."))
    await memory.ingest_document(plain("consent.txt", "Rescheduling needs consent from every attendee."))
    # Twelve chunks that share more word pieces with "studies" than "study" does, but not its stem.
    for i in range(12):
        await memory.ingest_document(plain(f"studio-{i}.txt", f"Studio {i}: studios and studio time."))


async def test_a_chunk_matching_only_by_stemmed_words_is_found(few_candidates: MemoryGatewayClient) -> None:
    await _corpus(few_candidates)
    found = await few_candidates.search_docs("alice", "studies", limit=5)
    study = next(hit for hit in found.hits if hit.doc_key == "study.txt")
    # The vector search ranked twelve studio chunks above it (outside its 10 candidates); full-text search,
    # which stems "studies" and "study" alike, found it first, so it ties the best dense-only hit.
    assert study.parts.dense_rank is None
    assert study.parts.lexical_rank == 1
    assert study.score == max(hit.score for hit in found.hits)


async def test_a_chunk_matching_only_by_shared_subwords_is_found(few_candidates: MemoryGatewayClient) -> None:
    await _corpus(few_candidates)
    found = await few_candidates.search_docs("alice", "scheduler", limit=5)
    top = found.hits[0]
    # "scheduler" and "rescheduling" stem apart ("schedul", "reschedul"): no full-text match at all, but
    # the embedding shares their character 3-grams.
    assert top.doc_key == "consent.txt"
    assert top.parts.lexical_rank is None
    assert top.parts.dense_rank == 1
    assert all(hit.parts.lexical_rank is None for hit in found.hits)


async def test_doc_keys_scope_the_search(memory: MemoryGatewayClient) -> None:
    for key, text in [("a.md", "Deploy on Tuesday."), ("b.md", "Deploy with care."), ("c.md", "Deploy at night.")]:
        await memory.ingest_document(plain(key, text))
    await memory.ingest_document(plain("a.md", "Deploy on Tuesday, says Bob.", user_id="bob"))

    assert {h.doc_key for h in (await memory.search_docs("alice", "deploy")).hits} == {"a.md", "b.md", "c.md"}
    one = await memory.search_docs("alice", "deploy", doc_keys=["b.md"])
    assert [h.doc_key for h in one.hits] == ["b.md"]
    two = await memory.search_docs("alice", "deploy", doc_keys=["a.md", "c.md", "missing.md"])
    assert {h.doc_key for h in two.hits} == {"a.md", "c.md"}
    assert all(h.parts.dense_rank is not None and h.parts.lexical_rank is not None for h in two.hits)
    assert (await memory.search_docs("alice", "deploy", doc_keys=["missing.md"])).hits == []


async def test_mmr_lets_a_different_chunk_past_a_near_copy(memory: MemoryGatewayClient) -> None:
    await memory.ingest_document(plain("a.txt", "Deploy releases with blue green switching on Tuesday."))
    await memory.ingest_document(plain("b.txt", "Deploy releases with blue green switching on Tuesdays."))
    await memory.ingest_document(plain("c.txt", "Deploy rollback restores the previous image."))
    await memory.ingest_document(plain("d.txt", "Invoices are reconciled every Friday afternoon."))

    plain_top = await memory.search_docs("alice", "deploy releases blue green", limit=2)
    assert {h.doc_key for h in plain_top.hits} == {"a.txt", "b.txt"}
    diverse = await memory.search_docs("alice", "deploy releases blue green", limit=2, mmr=True)
    assert diverse.hits[0].doc_key == plain_top.hits[0].doc_key
    assert diverse.hits[1].doc_key == "c.txt"
    relevance_only = await memory.search_docs("alice", "deploy releases blue green", limit=2, mmr=True, mmr_lambda=1)
    assert [h.chunk_id for h in relevance_only.hits] == [h.chunk_id for h in plain_top.hits]


async def test_recency_is_opt_in_and_weighs_by_the_documents_last_change(
    memory: MemoryGatewayClient, postgres_url: str
) -> None:
    old = (await memory.ingest_document(plain("old.txt", "Quarterly planning checklist."))).document
    await memory.ingest_document(plain("new.txt", "Quarterly planning checklist!"))
    conn = await asyncpg.connect(postgres_url)
    try:
        # Age one document by 60 days (two half-lives); the replica role keeps the updated_at trigger out.
        await conn.execute("SET session_replication_role = replica")
        await conn.execute("UPDATE documents SET updated_at = now() - interval '60 days' WHERE id = $1", old.id)
    finally:
        await conn.close()

    unweighted = await memory.search_docs("alice", "quarterly planning checklist")
    assert {h.parts.recency for h in unweighted.hits} == {1.0}
    weighted = await memory.search_docs("alice", "quarterly planning checklist", recency=True)
    by_key = {h.doc_key: h for h in weighted.hits}
    assert by_key["old.txt"].parts.recency == pytest.approx(0.5 + 0.5 * 0.25, abs=1e-3)
    assert by_key["new.txt"].parts.recency == pytest.approx(1.0, abs=1e-3)
    assert weighted.hits[0].doc_key == "new.txt"
    assert by_key["old.txt"].score == pytest.approx(by_key["old.txt"].parts.relevance * by_key["old.txt"].parts.recency)
