"""memory-gateway client: graph upserts and graph_neighbors."""

from __future__ import annotations

from pma_core.clients.base import ServiceClient


class GraphClient(ServiceClient):
    """The memory-gateway's graph upserts and graph_neighbors operations."""
