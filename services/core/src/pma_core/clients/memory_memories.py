"""memory-gateway client: long-term memory: remember, recall, get, update, forget, history."""

from __future__ import annotations

from pma_core.clients.base import ServiceClient


class MemoriesClient(ServiceClient):
    """The memory-gateway's long-term memory: remember, recall, get, update, forget, history operations."""
