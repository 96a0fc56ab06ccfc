"""The observer-agent app: `create_app(settings)` builds it; `app_from_env` is uvicorn's factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

from fastapi import FastAPI

from observer_agent import __version__
from observer_agent.api import routers
from observer_agent.deps import State
from observer_agent.settings import Settings
from pma_core.app import LifespanState, ReadinessCheck, app_from_environment, build_app
from pma_core.clients import MemoryGatewayClient, PlannerEngineClient, open_client
from pma_core.resources import Background, core_readiness, open_core_resources

DESCRIPTION = (
    "Reflection service (`observer.*`): writes daily and weekly reflections to the Coda Daily"
    " Thread and back into memory."
)


def create_app(settings: Settings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[LifespanState[State]]:
        async with open_core_resources(settings) as core, AsyncExitStack() as stack:
            memory_client = open_client(stack, settings, MemoryGatewayClient)
            planner_client = open_client(stack, settings, PlannerEngineClient)
            background = Background()
            stack.push_async_callback(background.aclose)
            state = State(
                settings=settings,
                pool=core.pool,
                cache=core.cache,
                memory=memory_client,
                planner=planner_client,
                background=background,
            )
            readiness = [
                *core_readiness(core),
                ReadinessCheck("memory-gateway", memory_client.probe),
                ReadinessCheck("planner-engine", planner_client.probe),
            ]
            yield LifespanState(resources=state, readiness=readiness)

    return build_app(
        settings=settings, version=__version__, description=DESCRIPTION, lifespan=lifespan, routers=routers
    )


def app_from_env() -> FastAPI:
    return app_from_environment(Settings, create_app)
