"""The app of a service whose resources are the core ones plus clients of the services it calls."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import asyncpg
from fastapi import APIRouter, FastAPI

from pma_core.app.builder import build_app
from pma_core.cache import ValkeyCache
from pma_core.clients import ServiceClient, client_readiness, open_clients
from pma_core.resources import core_readiness, open_core_resources
from pma_core.settings import CoreSettings


@dataclass(frozen=True)
class ServiceState:
    pool: asyncpg.Pool
    cache: ValkeyCache
    # The services this one calls, by service name.
    clients: dict[str, ServiceClient]


def create_service_app(
    settings: CoreSettings,
    *,
    version: str,
    description: str,
    calls: Sequence[type[ServiceClient]],
    routers: list[APIRouter],
) -> FastAPI:
    """Build the app; its lifespan opens Postgres (migrated), Valkey and one client per called service."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[dict[str, Any]]:
        async with open_core_resources(settings) as core, open_clients(settings, calls) as clients:
            state = ServiceState(pool=core.pool, cache=core.cache, clients=clients)
            readiness = [*core_readiness(core), *client_readiness(clients)]
            yield {"resources": state, "readiness": readiness}

    return build_app(
        settings=settings,
        title=settings.service_name,
        version=version,
        description=description,
        lifespan=lifespan,
        routers=routers,
    )
