"""Documents: ingest (chunk, store, index) and search_docs (hybrid retrieval), free of FastAPI and SQL.

Postgres is the source of truth: a document and its chunks are written in one transaction, the vector index
follows after the commit (a failed index write leaves the chunks pending for the repair loop), and every hit
is read back from Postgres, so a stale or orphaned vector can never surface. Search ranks like recall:
dense and full-text candidates fused by reciprocal rank, optionally re-ranked by MMR. When the dense half
fails (Qdrant or the embedder), the answer comes from full-text search alone and says so (`lexical_only`).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections.abc import Sequence
from uuid import UUID

from memory_gateway.domain.chunking import Chunk, chunk_document
from memory_gateway.domain.models import ChunkRow, DocumentDraft
from memory_gateway.domain.ports import ChunkIndex, DocumentStore
from memory_gateway.domain.ranking import Fused, mmr, recency_weight, rrf_fuse
from memory_gateway.settings import MemorySettings
from pma_core.clock import utc_now
from pma_core.contracts.documents import (
    DocHit,
    DocSearchRead,
    DocSearchRequest,
    DocumentIngest,
    DocumentRead,
    IngestRead,
)
from pma_core.contracts.memory import ScoreParts
from pma_core.errors import NotFoundError

# Documents longer than this are chunked in a worker thread (~0.2 s per million characters), so the event
# loop keeps serving other requests meanwhile.
_THREAD_CHARS = 100_000
# MMR compares every pick with every candidate: it re-ranks only the best few times `limit` hits.
_MMR_POOL_FACTOR = 3
# Bumped when the hash's input changes shape, so old hashes never equal new ones by accident.
_HASH_VERSION = 1


def content_hash(request: DocumentIngest) -> str:
    """SHA-256 of everything an ingest stores (text, labels, metadata, chunking), but the user and key.

    An identical re-ingest is then "unchanged" and rewrites nothing, while any change (even of the title
    or the chunk size) replaces the document whole.
    """
    content = request.model_dump(mode="json", exclude={"user_id", "doc_key"})
    canonical = json.dumps({"v": _HASH_VERSION, **content}, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


class Documents:
    """The document operations the API serves."""

    def __init__(self, *, store: DocumentStore, index: ChunkIndex, settings: MemorySettings) -> None:
        self.store = store
        self.index = index
        self.settings = settings

    async def ingest(self, request: DocumentIngest) -> IngestRead:
        """Store and index a document; re-ingesting its `doc_key` replaces its chunks, unless nothing changed."""
        digest = content_hash(request)
        existing = await self.store.find(user_id=request.user_id, doc_key=request.doc_key)
        if existing is not None and existing.content_hash == digest:
            return IngestRead(document=existing.document, outcome="unchanged", chunks=0)
        chunks = await _chunked(request)
        draft = DocumentDraft(
            user_id=request.user_id,
            doc_key=request.doc_key,
            title=request.title,
            source=request.source,
            media_type=request.media_type,
            metadata=request.metadata,
            content_hash=digest,
        )
        result = await self.store.replace(draft, chunks)
        # After the commit: the old points go first, so a search never meets both versions' vectors.
        await self.index.remove(result.removed_chunk_ids)
        await self.index.index(result.chunk_ids)
        return IngestRead(document=result.document, outcome=result.outcome, chunks=len(result.chunk_ids))

    async def get(self, *, user_id: str, document_id: UUID) -> DocumentRead:
        document = await self.store.get(user_id=user_id, document_id=document_id)
        if document is None:
            raise NotFoundError(f"no document {document_id}")
        return document

    async def list_documents(
        self, *, user_id: str, doc_key: str | None = None, limit: int = 100, offset: int = 0
    ) -> list[DocumentRead]:
        return await self.store.list_documents(user_id=user_id, doc_key=doc_key, limit=limit, offset=offset)

    async def delete(self, *, user_id: str, document_id: UUID) -> None:
        """Delete a document, its chunks and (after the commit) their vectors."""
        removed = await self.store.delete(user_id=user_id, document_id=document_id)
        if removed is None:
            raise NotFoundError(f"no document {document_id}")
        await self.index.remove(removed)

    async def search(self, request: DocSearchRequest) -> DocSearchRead:
        """The best chunks for the query: dense and full-text candidates, fused, read back from Postgres."""
        started = time.perf_counter()
        document_ids: list[UUID] | None = None
        if request.doc_keys is not None:
            document_ids = await self.store.document_ids(user_id=request.user_id, doc_keys=request.doc_keys)
            if not document_ids:
                return DocSearchRead(hits=[], took_ms=_ms_since(started))
        fused, lexical_only = await self._candidates(request, document_ids)
        rows = await self.store.chunks(user_id=request.user_id, ids=list(fused))
        scored = self._scored(rows, fused, request=request)
        if request.mmr:
            scored = await self._diversified(scored, request)
        hits = [_hit(row, parts) for row, parts in scored[: request.limit]]
        return DocSearchRead(hits=hits, lexical_only=lexical_only, took_ms=_ms_since(started))

    async def _candidates(
        self, request: DocSearchRequest, document_ids: list[UUID] | None
    ) -> tuple[dict[UUID, Fused], bool]:
        """Both retrievers' candidates, fused; and True when the dense one failed (full-text alone)."""
        user_id, query, limit = request.user_id, request.query, self.settings.candidates
        dense, lexical = await asyncio.gather(
            self.index.dense(user_id=user_id, query=query, document_ids=document_ids, limit=limit),
            self.store.lexical(user_id=user_id, query=query, document_ids=document_ids, limit=limit),
        )
        return rrf_fuse(dense or [], lexical, k=self.settings.rrf_k), dense is None

    def _scored(
        self, rows: Sequence[ChunkRow], fused: dict[UUID, Fused], *, request: DocSearchRequest
    ) -> list[tuple[ChunkRow, ScoreParts]]:
        """Each row with its score parts, best first (ties in document order, so results are stable)."""
        now = utc_now()
        scored = []
        for row in rows:
            recency = 1.0
            if request.recency:
                recency = recency_weight(
                    row.document_updated_at,
                    now,
                    half_life_days=self.settings.recency_half_life_days,
                    floor=self.settings.recency_floor,
                )
            scored.append((row, _parts(fused[row.id], recency=recency)))
        scored.sort(key=lambda item: (-item[1].final, item[0].doc_key, item[0].ordinal))
        return scored

    async def _diversified(
        self, scored: list[tuple[ChunkRow, ScoreParts]], request: DocSearchRequest
    ) -> list[tuple[ChunkRow, ScoreParts]]:
        """MMR over the best candidates: near-copies (overlapping chunks, repeated passages) give way."""
        pool = {row.id: (row, parts) for row, parts in scored[: request.limit * _MMR_POOL_FACTOR]}
        vectors = await self.index.chunk_vectors(list(pool))
        chosen = mmr(
            list(pool),
            relevance=lambda chunk_id: pool[chunk_id][1].final,
            vector=vectors.get,
            limit=request.limit,
            lambda_=request.mmr_lambda,
        )
        return [pool[chunk_id] for chunk_id in chosen]


async def _chunked(request: DocumentIngest) -> list[Chunk]:
    def run() -> list[Chunk]:
        return chunk_document(
            request.text,
            media_type=request.media_type,
            chunk_chars=request.chunk_chars,
            overlap_chars=request.overlap_chars,
        )

    return await asyncio.to_thread(run) if len(request.text) > _THREAD_CHARS else run()


def _parts(fused: Fused, *, recency: float) -> ScoreParts:
    return ScoreParts(
        dense_rank=fused.dense_rank,
        dense_similarity=fused.dense_similarity,
        lexical_rank=fused.lexical_rank,
        lexical_score=fused.lexical_score,
        relevance=fused.rrf,
        recency=recency,
        importance=1.0,
        final=fused.rrf * recency,
    )


def _hit(row: ChunkRow, parts: ScoreParts) -> DocHit:
    return DocHit(
        document_id=row.document_id,
        doc_key=row.doc_key,
        title=row.title,
        chunk_id=row.id,
        ordinal=row.ordinal,
        heading_path=row.heading_path,
        text=row.text,
        score=parts.final,
        parts=parts,
    )


def _ms_since(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)
