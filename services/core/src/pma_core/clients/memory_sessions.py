"""memory-gateway client: short-term memory (sessions)."""

from __future__ import annotations

from pma_core.clients.base import ServiceClient


class SessionsClient(ServiceClient):
    """The memory-gateway's short-term memory (sessions) operations."""
