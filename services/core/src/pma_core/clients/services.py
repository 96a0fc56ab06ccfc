"""One client per service. Their operations arrive with each service's issue; the shared plumbing is here."""

from __future__ import annotations

from pma_core.clients.base import ServiceClient


class MemoryGatewayClient(ServiceClient):
    service_name = "memory-gateway"


class PlannerEngineClient(ServiceClient):
    service_name = "planner-engine"


class SchedulerEngineClient(ServiceClient):
    service_name = "scheduler-engine"


class ObserverAgentClient(ServiceClient):
    service_name = "observer-agent"


CLIENT_TYPES: dict[str, type[ServiceClient]] = {
    client.service_name: client
    for client in (MemoryGatewayClient, PlannerEngineClient, SchedulerEngineClient, ObserverAgentClient)
}
