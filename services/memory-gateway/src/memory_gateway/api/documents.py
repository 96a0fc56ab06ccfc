"""Documents and search_docs: ingest (PUT, replaces by doc_key), list, get, delete, and hybrid search."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Response, status

from memory_gateway.deps import DocumentsDep
from pma_core.app.params import UserQuery
from pma_core.app.schemas import error_responses
from pma_core.contracts.documents import (
    MAX_OFFSET,
    DocKey,
    DocSearchRead,
    DocSearchRequest,
    DocumentIngest,
    DocumentListRead,
    DocumentRead,
    IngestRead,
)

router = APIRouter(prefix="/v1", tags=["documents"])


@router.put(
    "/documents",
    status_code=status.HTTP_200_OK,
    responses={
        status.HTTP_201_CREATED: {"model": IngestRead, "description": "A new doc_key: created"},
        **error_responses(409),
    },
    summary="Ingest a document (replaces the user's document of the same doc_key)",
)
async def ingest_document(body: DocumentIngest, response: Response, documents: DocumentsDep) -> IngestRead:
    """201 when the doc_key is new; 200 when it replaced the document, or when nothing changed; 409 when
    the document was deleted while this call replaced it (retry).

    PUT because the call is idempotent by `doc_key`: sending it again leaves the same state, so clients
    may retry it freely.
    """
    result = await documents.ingest(body)
    if result.outcome == "created":
        response.status_code = status.HTTP_201_CREATED
    return result


@router.get("/documents", summary="List the user's documents, most recently changed first")
async def list_documents(
    user_id: UserQuery,
    documents: DocumentsDep,
    doc_key: Annotated[DocKey | None, Query(description="Only the document of this key.")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> DocumentListRead:
    found = await documents.list_documents(user_id=user_id, doc_key=doc_key, limit=limit, offset=offset)
    return DocumentListRead(documents=found)


@router.get(
    "/documents/{document_id}", responses=error_responses(404), summary="One document (404 if it is not the user's)"
)
async def get_document(document_id: UUID, user_id: UserQuery, documents: DocumentsDep) -> DocumentRead:
    return await documents.get(user_id=user_id, document_id=document_id)


@router.delete(
    "/documents/{document_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=error_responses(404),
    summary="Delete a document, its chunks and their vectors",
)
async def delete_document(document_id: UUID, user_id: UserQuery, documents: DocumentsDep) -> None:
    await documents.delete(user_id=user_id, document_id=document_id)


@router.post("/search_docs", summary="Hybrid search over the user's document chunks")
async def search_docs(body: DocSearchRequest, documents: DocumentsDep) -> DocSearchRead:
    return await documents.search(body)
