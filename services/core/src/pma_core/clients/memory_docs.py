"""memory-gateway client: search_docs and document ingestion."""

from __future__ import annotations

from pma_core.clients.base import ServiceClient


class DocumentsClient(ServiceClient):
    """The memory-gateway's search_docs and document ingestion operations."""
