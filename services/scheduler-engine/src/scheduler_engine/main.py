"""The scheduler-engine app: `create_app(settings)` builds it; `app_from_env` is uvicorn's factory."""

from __future__ import annotations

from fastapi import FastAPI

from pma_core.app.service import create_service_app
from pma_core.clients import MemoryGatewayClient
from pma_core.logging import configure_logging
from scheduler_engine import __version__
from scheduler_engine.api import routers
from scheduler_engine.settings import Settings

DESCRIPTION = "Scheduling service (`scheduler.*`): places tasks on Google Calendar under constraints, idempotently."
# The services this one calls; each is a critical readiness dependency.
CALLS = [MemoryGatewayClient]


def create_app(settings: Settings) -> FastAPI:
    return create_service_app(settings, version=__version__, description=DESCRIPTION, calls=CALLS, routers=routers)


def app_from_env() -> FastAPI:
    settings = Settings()
    configure_logging(service=settings.service_name, level=settings.log.level, fmt=settings.log.format)
    return create_app(settings)
