"""The observer-agent app: `create_app(settings)` builds it; `app_from_env` is uvicorn's factory."""

from __future__ import annotations

from fastapi import FastAPI

from observer_agent import __version__
from observer_agent.api import routers
from observer_agent.settings import Settings
from pma_core.app.service import create_service_app
from pma_core.clients import MemoryGatewayClient, PlannerEngineClient
from pma_core.logging import configure_logging

DESCRIPTION = (
    "Reflection service (`observer.*`): writes daily and weekly reflections to the Coda Daily"
    " Thread and back into memory."
)
# The services this one calls; each is a critical readiness dependency.
CALLS = [MemoryGatewayClient, PlannerEngineClient]


def create_app(settings: Settings) -> FastAPI:
    return create_service_app(settings, version=__version__, description=DESCRIPTION, calls=CALLS, routers=routers)


def app_from_env() -> FastAPI:
    settings = Settings()
    configure_logging(service=settings.service_name, level=settings.log.level, fmt=settings.log.format)
    return create_app(settings)
