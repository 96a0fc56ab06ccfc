"""memory-gateway client: event logging and similar_events."""

from __future__ import annotations

from pma_core.clients.base import ServiceClient


class EventsClient(ServiceClient):
    """The memory-gateway's event logging and similar_events operations."""
