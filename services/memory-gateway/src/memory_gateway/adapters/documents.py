"""Documents in Postgres (asyncpg) and their chunks in the vector index: the domain's two ports.

Every query names the user: a document id of another user is simply not found.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from uuid import UUID, uuid4

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from memory_gateway.adapters.indexer import Indexer
from memory_gateway.adapters.lexical import OR_QUERY_SQL
from memory_gateway.adapters.tables import DOC_CHUNKS
from memory_gateway.domain.chunking import Chunk
from memory_gateway.domain.models import ChunkRow, DocumentDraft, Replaced, StoredDocument
from pma_core.contracts.documents import DocumentRead, IngestOutcome
from pma_core.embedders import Embedder, EmbeddingError
from pma_core.errors import ConflictError
from pma_core.vectors import VectorFilter, VectorStore, VectorStoreError

Connection = asyncpg.Connection | PoolConnectionProxy

_log = logging.getLogger(__name__)

_COLUMNS = "id, user_id, doc_key, title, source, media_type, metadata, chunk_count, created_at, updated_at"
_CHUNK_COLUMNS = ["id", "user_id", "document_id", "ordinal", "heading_path", "text"]
# `indexer.load` reads at most 1,000 rows per call; smaller batches also bound one embedder request.
_INDEX_BATCH = 256

_INSERT_NEW = f"""
    INSERT INTO documents (user_id, doc_key, title, source, media_type, metadata, content_hash, chunk_count)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
    ON CONFLICT (user_id, doc_key) DO NOTHING
    RETURNING {_COLUMNS}"""
_LOCK_EXISTING = "SELECT id, content_hash FROM documents WHERE user_id = $1 AND doc_key = $2 FOR UPDATE"
_UPDATE = f"""
    UPDATE documents SET title = $3, source = $4, media_type = $5, metadata = $6, content_hash = $7,
                         chunk_count = $8
    WHERE user_id = $1 AND id = $2
    RETURNING {_COLUMNS}"""
_SELECT_ONE = f"SELECT {_COLUMNS} FROM documents WHERE user_id = $1 AND id = $2"
_DELETE_CHUNKS = "DELETE FROM doc_chunks WHERE user_id = $1 AND document_id = $2 RETURNING id"
_LEXICAL = f"""
    SELECT c.id, ts_rank_cd(c.search_tsv, q.query) AS score
    FROM doc_chunks c, (SELECT {OR_QUERY_SQL} AS query) q
    WHERE c.user_id = $1 AND c.search_tsv @@ q.query
      AND ($3::uuid[] IS NULL OR c.document_id = ANY($3::uuid[]))
    ORDER BY score DESC, c.id
    LIMIT $4"""
_CHUNKS = """
    SELECT c.id, c.document_id, d.doc_key, d.title, c.ordinal, c.heading_path, c.text,
           d.updated_at AS document_updated_at
    FROM doc_chunks c JOIN documents d ON d.user_id = c.user_id AND d.id = c.document_id
    WHERE c.user_id = $1 AND c.id = ANY($2::uuid[])"""


def _document(record: asyncpg.Record | None) -> DocumentRead:
    # Only called where the row must exist (RETURNING of a write, or a read under the row lock).
    if record is None:
        raise AssertionError("the document row vanished inside its own transaction")
    return DocumentRead.model_validate(dict(record))


class PostgresDocumentStore:
    """The `DocumentStore` port over the documents and doc_chunks tables."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def find(self, *, user_id: str, doc_key: str) -> StoredDocument | None:
        record = await self.pool.fetchrow(
            f"SELECT {_COLUMNS}, content_hash FROM documents WHERE user_id = $1 AND doc_key = $2", user_id, doc_key
        )
        if record is None:
            return None
        fields = dict(record)
        digest = fields.pop("content_hash")
        return StoredDocument(document=DocumentRead.model_validate(fields), content_hash=digest)

    async def replace(self, draft: DocumentDraft, chunks: Sequence[Chunk]) -> Replaced:
        """Insert the document, or lock and update it; then swap its chunks, all in one transaction.

        The insert comes first (ON CONFLICT DO NOTHING) so two first ingests of one key cannot both create
        it; the row lock serialises concurrent replacements of the same document.
        """
        values = (draft.title, draft.source, draft.media_type, draft.metadata, draft.content_hash, len(chunks))
        async with self.pool.acquire() as conn, conn.transaction():
            outcome: IngestOutcome = "created"
            removed: list[UUID] = []
            record = await conn.fetchrow(_INSERT_NEW, draft.user_id, draft.doc_key, *values)
            if record is None:
                existing = await conn.fetchrow(_LOCK_EXISTING, draft.user_id, draft.doc_key)
                if existing is None:
                    raise ConflictError(f"document {draft.doc_key!r} was deleted during the ingest; retry")
                if existing["content_hash"] == draft.content_hash:  # an identical ingest just won the race
                    document = await self._get(conn, user_id=draft.user_id, document_id=existing["id"])
                    return Replaced(document=document, outcome="unchanged", chunk_ids=[], removed_chunk_ids=[])
                outcome = "replaced"
                record = await conn.fetchrow(_UPDATE, draft.user_id, existing["id"], *values)
                removed = [row["id"] for row in await conn.fetch(_DELETE_CHUNKS, draft.user_id, existing["id"])]
            document = _document(record)
            chunk_ids = await self._write_chunks(conn, document, chunks)
        return Replaced(document=document, outcome=outcome, chunk_ids=chunk_ids, removed_chunk_ids=removed)

    async def _write_chunks(self, conn: Connection, document: DocumentRead, chunks: Sequence[Chunk]) -> list[UUID]:
        # Ids are minted here (not by the database) so COPY, the fastest bulk write, needs no RETURNING.
        ids = [uuid4() for _ in chunks]
        records = [
            (chunk_id, document.user_id, document.id, ordinal, list(chunk.heading_path), chunk.text)
            for ordinal, (chunk_id, chunk) in enumerate(zip(ids, chunks, strict=True))
        ]
        if records:
            await conn.copy_records_to_table("doc_chunks", records=records, columns=_CHUNK_COLUMNS)
        return ids

    async def _get(self, conn: Connection, *, user_id: str, document_id: UUID) -> DocumentRead:
        return _document(await conn.fetchrow(_SELECT_ONE, user_id, document_id))

    async def get(self, *, user_id: str, document_id: UUID) -> DocumentRead | None:
        record = await self.pool.fetchrow(_SELECT_ONE, user_id, document_id)
        return None if record is None else _document(record)

    async def list_documents(self, *, user_id: str, doc_key: str | None, limit: int, offset: int) -> list[DocumentRead]:
        records = await self.pool.fetch(
            f"""SELECT {_COLUMNS} FROM documents
                WHERE user_id = $1 AND ($2::text IS NULL OR doc_key = $2)
                ORDER BY updated_at DESC, id LIMIT $3 OFFSET $4""",
            user_id,
            doc_key,
            limit,
            offset,
        )
        return [_document(record) for record in records]

    async def delete(self, *, user_id: str, document_id: UUID) -> list[UUID] | None:
        async with self.pool.acquire() as conn, conn.transaction():
            removed = [row["id"] for row in await conn.fetch(_DELETE_CHUNKS, user_id, document_id)]
            deleted = await conn.fetchval(
                "DELETE FROM documents WHERE user_id = $1 AND id = $2 RETURNING id", user_id, document_id
            )
        return None if deleted is None else removed

    async def document_ids(self, *, user_id: str, doc_keys: Sequence[str]) -> list[UUID]:
        records = await self.pool.fetch(
            "SELECT id FROM documents WHERE user_id = $1 AND doc_key = ANY($2::text[]) ORDER BY id",
            user_id,
            list(doc_keys),
        )
        return [record["id"] for record in records]

    async def lexical(
        self, *, user_id: str, query: str, document_ids: Sequence[UUID] | None, limit: int
    ) -> list[tuple[UUID, float]]:
        ids = list(document_ids) if document_ids is not None else None
        records = await self.pool.fetch(_LEXICAL, user_id, query, ids, limit)
        return [(record["id"], float(record["score"])) for record in records]

    async def chunks(self, *, user_id: str, ids: Sequence[UUID]) -> list[ChunkRow]:
        records = await self.pool.fetch(_CHUNKS, user_id, list(ids))
        return [ChunkRow(**dict(record)) for record in records]


class VectorChunkIndex:
    """The `ChunkIndex` port: the `doc_chunks` collection, written through the shared `Indexer`."""

    def __init__(self, *, indexer: Indexer, vectors: VectorStore, embedder: Embedder) -> None:
        self.indexer = indexer
        self.vectors = vectors
        self.embedder = embedder

    async def index(self, chunk_ids: Sequence[UUID]) -> None:
        """Index the chunks in batches; on the first failure the rest stay pending for the repair loop."""
        for start in range(0, len(chunk_ids), _INDEX_BATCH):
            rows = await self.indexer.load(DOC_CHUNKS, chunk_ids[start : start + _INDEX_BATCH])
            try:
                written = await self.indexer.index(DOC_CHUNKS, rows)
            except EmbeddingError as exc:
                _log.warning("embedding chunks failed; they stay pending for repair", extra={"error": repr(exc)})
                written = False
            if not written:
                return

    async def remove(self, chunk_ids: Sequence[UUID]) -> None:
        if chunk_ids:
            await self.indexer.remove(DOC_CHUNKS.collection, chunk_ids)

    async def dense(
        self, *, user_id: str, query: str, document_ids: Sequence[UUID] | None, limit: int
    ) -> list[tuple[UUID, float]] | None:
        """Nearest chunks; one search per document when scoped (the port's filter matches one value). None
        when the query could not be embedded or the search failed."""
        try:
            [vector] = await self.embedder.embed([query])
            scopes = [None] if document_ids is None else [str(document_id) for document_id in document_ids]
            hits = []
            for document_id in scopes:
                match = None if document_id is None else {"document_id": document_id}
                flt = VectorFilter(user_id=user_id, match=match)
                hits.extend(await self.vectors.search(DOC_CHUNKS.collection, vector, flt=flt, limit=limit))
        except (EmbeddingError, VectorStoreError, OSError) as exc:
            # Degrade to full-text only rather than fail the search: the lexical half still answers, and the
            # answer says so (lexical_only).
            _log.warning("dense document search failed; full-text only", extra={"error": repr(exc)})
            return None
        hits.sort(key=lambda hit: -hit.score)
        return [(UUID(hit.id), hit.score) for hit in hits[:limit]]

    async def chunk_vectors(self, chunk_ids: Sequence[UUID]) -> dict[UUID, list[float]]:
        try:
            points = await self.vectors.retrieve(DOC_CHUNKS.collection, [str(i) for i in chunk_ids])
        except (VectorStoreError, OSError) as exc:
            _log.warning("reading chunk vectors failed; MMR sees no redundancy", extra={"error": repr(exc)})
            return {}
        return {UUID(point.id): point.vector for point in points}
