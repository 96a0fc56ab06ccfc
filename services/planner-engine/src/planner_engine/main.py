"""The planner-engine app: `create_app(settings)` builds it; `app_from_env` is uvicorn's factory."""

from __future__ import annotations

from fastapi import FastAPI

from planner_engine import __version__
from planner_engine.api import routers
from planner_engine.settings import Settings
from pma_core.app.service import create_service_app
from pma_core.clients import MemoryGatewayClient, SchedulerEngineClient
from pma_core.logging import configure_logging

DESCRIPTION = (
    "Planning service (`planner.*`): turns an intent into an SOP and tasks, with an LLM through"
    " OpenRouter or a deterministic offline planner."
)
# The services this one calls; each is a critical readiness dependency.
CALLS = [MemoryGatewayClient, SchedulerEngineClient]


def create_app(settings: Settings) -> FastAPI:
    return create_service_app(settings, version=__version__, description=DESCRIPTION, calls=CALLS, routers=routers)


def app_from_env() -> FastAPI:
    settings = Settings()
    configure_logging(service=settings.service_name, level=settings.log.level, fmt=settings.log.format)
    return create_app(settings)
