"""One client per service. Their operations arrive with each service's issue; the shared plumbing is here."""

from __future__ import annotations

from pma_core.clients.memory_docs import DocumentsClient
from pma_core.clients.memory_events import EventsClient
from pma_core.clients.memory_graph import GraphClient
from pma_core.clients.memory_memories import MemoriesClient
from pma_core.clients.memory_sessions import SessionsClient
from pma_core.clients.memory_threads import DailyThreadsClient
from pma_core.clients.observer import ReflectionsClient
from pma_core.clients.planner import PlannerEngineClient as PlannerEngineClient
from pma_core.clients.scheduler import SchedulingClient


class MemoryGatewayClient(
    MemoriesClient, DocumentsClient, EventsClient, GraphClient, SessionsClient, DailyThreadsClient
):
    """`memory.*`: remember, recall, search_docs, graph_neighbors, similar_events, sessions, similar_days."""

    service_name = "memory-gateway"


class SchedulerEngineClient(SchedulingClient):
    """`scheduler.*`: the intake of plans to place on the calendar."""

    service_name = "scheduler-engine"


class ObserverAgentClient(ReflectionsClient):
    """`observer.*`: daily and weekly reflections."""

    service_name = "observer-agent"
