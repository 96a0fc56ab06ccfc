"""Open the clients a service needs, from its settings."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from typing import TypeVar

from pma_core.app.readiness import ReadinessCheck
from pma_core.clients.base import ServiceClient
from pma_core.settings import CoreSettings

ClientT = TypeVar("ClientT", bound=ServiceClient)


def service_url(settings: CoreSettings, service_name: str) -> str:
    return str(getattr(settings.services, f"{service_name.replace('-', '_')}_url"))


def make_client(settings: CoreSettings, client_type: type[ClientT]) -> ClientT:
    return client_type(
        service_url(settings, client_type.service_name),
        timeout=settings.http.client_timeout_seconds,
        retries=settings.http.client_retries,
    )


@asynccontextmanager
async def open_clients(
    settings: CoreSettings, client_types: Sequence[type[ServiceClient]]
) -> AsyncIterator[dict[str, ServiceClient]]:
    """One client per service this service calls, closed on exit."""
    async with AsyncExitStack() as stack:
        clients: dict[str, ServiceClient] = {}
        for client_type in client_types:
            client = make_client(settings, client_type)
            stack.push_async_callback(client.aclose)
            clients[client_type.service_name] = client
        yield clients


def client_readiness(clients: dict[str, ServiceClient]) -> list[ReadinessCheck]:
    """A service we call is a critical dependency: without it we cannot do our job."""
    return [ReadinessCheck(name, client.probe) for name, client in clients.items()]
