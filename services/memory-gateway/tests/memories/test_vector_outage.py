"""Qdrant failing at read time: recall, search_docs, similar_events and similar_days answer from full-text
search alone and say so (`lexical_only`), and a recall answered so is not cached, so that the first identical
recall once Qdrant answers again is hybrid; remember still stores (an exact copy still found in Postgres).
Real Postgres and Valkey, the embedded engine, hashing embedder.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from memory_gateway.main import create_app
from memory_gateway.settings import Settings
from pma_core.clients import MemoryGatewayClient
from pma_core.contracts.daily_threads import DailyThreadUpsert, SimilarDaysRequest
from pma_core.contracts.documents import DocumentIngest
from pma_core.contracts.events import EventCreate, SimilarEventsRequest
from pma_core.contracts.memory import MemoryCreate, RecallRead
from pma_core.settings import QdrantSettings
from pma_core.testing.serve import serve
from pma_core.vectors import EdgeVectorStore, VectorFilter, VectorHit, VectorPoint, VectorStore, VectorStoreError

TEA = "Alice drinks oolong tea every morning"
TEXTS = [TEA, "The billing service runs on Postgres 16", "Dentist appointment next Tuesday at nine"]


class FailingReads(EdgeVectorStore):
    """The embedded engine, whose reads named in `down` raise `error`: Qdrant down or its collection being
    rebuilt, as a search meets it. Writes keep working, so what the test stores is indexed."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.down: set[str] = set()
        self.error: Exception = VectorStoreError("qdrant is down (switched off by the test)")

    def _fail_if_down(self, call: str) -> None:
        if call in self.down:
            raise self.error

    async def search(
        self,
        collection: str,
        vector: Sequence[float],
        *,
        flt: VectorFilter,
        limit: int,
        score_threshold: float | None = None,
    ) -> list[VectorHit]:
        self._fail_if_down("search")
        return await super().search(collection, vector, flt=flt, limit=limit, score_threshold=score_threshold)

    async def retrieve(self, collection: str, ids: Sequence[str]) -> list[VectorPoint]:
        self._fail_if_down("retrieve")
        return await super().retrieve(collection, ids)


@pytest.fixture
def qdrant(gateway_settings: Settings) -> FailingReads:
    gateway_settings.qdrant.path.mkdir(parents=True, exist_ok=True)
    return FailingReads(gateway_settings.qdrant.path)


@pytest.fixture
async def gateway_url(gateway_settings: Settings, qdrant: FailingReads) -> AsyncIterator[str]:
    def open_vectors(_: QdrantSettings) -> VectorStore:
        return qdrant

    async with serve(create_app(gateway_settings, open_vectors=open_vectors)) as url:
        yield url


@pytest.fixture
async def memories(memory: MemoryGatewayClient) -> None:
    """Alice's memories, indexed while Qdrant still answers (remembering searches it for near-duplicates)."""
    for text in TEXTS:
        await memory.remember(MemoryCreate(user_id="alice", text=text, kind="fact"))


def _texts(found: RecallRead) -> list[str]:
    return [hit.memory.text for hit in found.hits]


@pytest.mark.usefixtures("memories")
async def test_recall_without_qdrant_is_lexical_only_and_the_next_one_with_it_is_hybrid(
    memory: MemoryGatewayClient, qdrant: FailingReads
) -> None:
    qdrant.down = {"search"}
    lexical = await memory.recall("alice", "oolong tea")
    assert lexical.lexical_only
    assert _texts(lexical) == [TEA]  # found by its words alone: the other memories share none
    assert lexical.hits[0].parts.dense_rank is None
    assert lexical.hits[0].parts.lexical_rank == 1

    qdrant.down = set()
    hybrid = await memory.recall("alice", "oolong tea")
    assert not hybrid.lexical_only
    assert not hybrid.cached  # the lexical-only answer was not kept
    assert _texts(hybrid)[0] == TEA
    assert len(hybrid.hits) == len(TEXTS)  # the vector search brings the rest as (weak) candidates
    assert all(hit.parts.dense_rank is not None for hit in hybrid.hits)
    again = await memory.recall("alice", "oolong tea")
    assert again.cached
    assert not again.lexical_only
    # A search that answers with nothing is no failure: no hits, and hybrid all the same.
    nobody = await memory.recall("bob", "oolong tea")
    assert nobody.hits == []
    assert not nobody.lexical_only


@pytest.mark.usefixtures("memories")
async def test_recall_with_mmr_answers_when_qdrant_is_down_altogether(
    memory: MemoryGatewayClient, qdrant: FailingReads
) -> None:
    qdrant.down = {"search", "retrieve"}
    qdrant.error = ConnectionRefusedError("connection refused (switched off by the test)")
    found = await memory.recall("alice", "oolong tea", mmr=True)
    assert found.lexical_only
    assert _texts(found) == [TEA]


@pytest.mark.usefixtures("memories")
async def test_recall_whose_vector_reads_fail_is_hybrid_but_not_cached(
    memory: MemoryGatewayClient, qdrant: FailingReads
) -> None:
    # The search answers, reading the candidates' vectors (for MMR) fails: the hits keep their dense ranks,
    # so the answer is not lexical-only, but it is not the full answer either, so it is not kept.
    qdrant.down = {"retrieve"}
    first = await memory.recall("alice", "oolong tea", mmr=True)
    assert not first.lexical_only
    assert all(hit.parts.dense_rank is not None for hit in first.hits)
    assert not (await memory.recall("alice", "oolong tea", mmr=True)).cached
    qdrant.down = set()
    assert not (await memory.recall("alice", "oolong tea", mmr=True)).cached
    assert (await memory.recall("alice", "oolong tea", mmr=True)).cached


async def test_search_docs_without_qdrant_is_lexical_only(memory: MemoryGatewayClient, qdrant: FailingReads) -> None:
    for key, text in [("study.txt", "Every study needs a control group."), ("tea.txt", TEA)]:
        await memory.ingest_document(DocumentIngest(user_id="alice", doc_key=key, text=text))
    qdrant.down = {"search"}
    lexical = await memory.search_docs("alice", "control group")
    assert lexical.lexical_only
    assert [(hit.doc_key, hit.parts.dense_rank) for hit in lexical.hits] == [("study.txt", None)]
    qdrant.down = set()
    hybrid = await memory.search_docs("alice", "control group")
    assert not hybrid.lexical_only
    assert hybrid.hits[0].doc_key == "study.txt"
    assert all(hit.parts.dense_rank is not None for hit in hybrid.hits)


async def test_similar_events_without_qdrant_is_lexical_only(memory: MemoryGatewayClient, qdrant: FailingReads) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    for hours_ago, subject in [(2, "Deploy of the newsletter failed: SMTP timeout"), (1, "Bought groceries")]:
        event = EventCreate(
            user_id="alice", event_type="agent.run", subject=subject, occurred_at=now - timedelta(hours=hours_ago)
        )
        await memory.log_event(event)
    request = SimilarEventsRequest(user_id="alice", text="SMTP timeout")
    qdrant.down = {"search"}
    qdrant.error = ConnectionRefusedError("connection refused (switched off by the test)")
    lexical = await memory.similar_events(request)
    assert lexical.lexical_only
    assert [(hit.event.subject[:6], hit.parts.dense_rank) for hit in lexical.hits] == [("Deploy", None)]
    qdrant.down = set()
    hybrid = await memory.similar_events(request)
    assert not hybrid.lexical_only
    assert hybrid.hits[0].event.subject.startswith("Deploy")
    assert all(hit.parts.dense_rank is not None for hit in hybrid.hits)


async def test_similar_days_without_qdrant_is_lexical_only(memory: MemoryGatewayClient, qdrant: FailingReads) -> None:
    monday = date(2026, 11, 23)
    days = [("launch", "Launch day: shipped the newsletter, fixed the SMTP timeout"), ("family", "Family day: a walk")]
    for offset, (key, text) in enumerate(days):
        start = monday + timedelta(days=offset)
        thread = DailyThreadUpsert(
            user_id="alice", key=key, kind="daily", period_start=start, period_end=start, text=text
        )
        await memory.upsert_daily_thread(thread)
    request = SimilarDaysRequest(user_id="alice", text="SMTP timeout")
    qdrant.down = {"search"}
    lexical = await memory.similar_days(request)
    assert lexical.lexical_only
    assert [(hit.thread.key, hit.parts.dense_rank) for hit in lexical.hits] == [("launch", None)]
    qdrant.down = set()
    hybrid = await memory.similar_days(request)
    assert not hybrid.lexical_only
    assert hybrid.hits[0].thread.key == "launch"
    assert all(hit.parts.dense_rank is not None for hit in hybrid.hits)


async def test_remember_without_qdrant_stores_dedupes_exact_copies_and_is_indexed_once_it_answers(
    memory: MemoryGatewayClient, qdrant: FailingReads
) -> None:
    qdrant.down = {"search", "retrieve"}  # the near-duplicate search cannot be made
    first = await memory.remember(MemoryCreate(user_id="alice", text=TEA, kind="fact"))
    copy = await memory.remember(MemoryCreate(user_id="alice", text=TEA, kind="fact"))
    assert first.outcome == "created"
    assert (copy.outcome, copy.memory.id) == ("duplicate", first.memory.id)  # found in Postgres, not Qdrant

    qdrant.down = set()
    found = await memory.recall("alice", "oolong tea")
    assert not found.lexical_only
    assert [(hit.memory.id, hit.parts.dense_rank) for hit in found.hits] == [(first.memory.id, 1)]
