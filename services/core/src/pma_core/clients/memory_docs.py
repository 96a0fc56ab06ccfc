"""memory-gateway client: search_docs and document ingestion."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from pma_core.clients.base import ServiceClient
from pma_core.contracts.documents import (
    DocSearchRead,
    DocSearchRequest,
    DocumentIngest,
    DocumentListRead,
    DocumentRead,
    IngestRead,
)


class DocumentsClient(ServiceClient):
    """The memory-gateway's search_docs and document ingestion operations."""

    async def ingest_document(self, document: DocumentIngest) -> IngestRead:
        """Store and index a document, replacing the user's document of the same `doc_key`.

        Idempotent by `doc_key` (a repeat is "unchanged"), so the PUT is retried on transient failures.
        """
        response = await self.request("PUT", "/v1/documents", json=document.model_dump(mode="json"))
        return IngestRead.model_validate(response.json())

    async def list_documents(
        self, user_id: str, *, doc_key: str | None = None, limit: int = 100, offset: int = 0
    ) -> list[DocumentRead]:
        """The user's documents, most recently changed first (`doc_key` finds one by its key)."""
        params: dict[str, Any] = {"user_id": user_id, "limit": limit, "offset": offset}
        if doc_key is not None:
            params["doc_key"] = doc_key
        listed = await self.get_model("/v1/documents", DocumentListRead, params=params)
        return listed.documents

    async def get_document(self, user_id: str, document_id: UUID) -> DocumentRead:
        return await self.get_model(f"/v1/documents/{document_id}", DocumentRead, params={"user_id": user_id})

    async def delete_document(self, user_id: str, document_id: UUID) -> None:
        """Delete a document, its chunks and their vectors (404 if it is not the user's)."""
        await self.request("DELETE", f"/v1/documents/{document_id}", params={"user_id": user_id})

    async def search_docs(
        self,
        user_id: str,
        query: str,
        *,
        limit: int = 10,
        doc_keys: Sequence[str] | None = None,
        **options: Any,
    ) -> DocSearchRead:
        """The chunks of the user's documents that best answer `query`; `options`: mmr, mmr_lambda, recency.

        Retrieval has no side effect, so the call carries an idempotency key and is retried.
        """
        keys = list(doc_keys) if doc_keys is not None else None
        body = DocSearchRequest(user_id=user_id, query=query, limit=limit, doc_keys=keys, **options)
        response = await self.request(
            "POST", "/v1/search_docs", json=body.model_dump(mode="json"), idempotency_key="search_docs"
        )
        return DocSearchRead.model_validate(response.json())
