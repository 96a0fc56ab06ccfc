"""Typed HTTP clients for each service: how the services (and the user's agents) call one another."""

from pma_core.clients.base import RemoteServiceError, ServiceClient
from pma_core.clients.factory import make_client, open_client
from pma_core.clients.services import (
    MemoryGatewayClient,
    ObserverAgentClient,
    PlannerEngineClient,
    SchedulerEngineClient,
)

__all__ = [
    "MemoryGatewayClient",
    "ObserverAgentClient",
    "PlannerEngineClient",
    "RemoteServiceError",
    "SchedulerEngineClient",
    "ServiceClient",
    "make_client",
    "open_client",
]
