"""Open the clients a service needs, from its settings."""

from __future__ import annotations

from contextlib import AsyncExitStack
from typing import TypeVar

from pma_core.clients.base import ServiceClient
from pma_core.settings import CoreSettings

ClientT = TypeVar("ClientT", bound=ServiceClient)


def service_url(settings: CoreSettings, service_name: str) -> str:
    return settings.services.url_of(service_name)


def make_client(settings: CoreSettings, client_type: type[ClientT]) -> ClientT:
    return client_type(
        service_url(settings, client_type.service_name),
        timeout=settings.http.client_timeout_seconds,
        retries=settings.http.client_retries,
        bearer_token=settings.access.outgoing_token,
    )


def open_client(stack: AsyncExitStack, settings: CoreSettings, client_type: type[ClientT]) -> ClientT:
    """A client of `client_type`'s service, closed when the lifespan's `stack` closes."""
    client = make_client(settings, client_type)
    stack.push_async_callback(client.aclose)
    return client
