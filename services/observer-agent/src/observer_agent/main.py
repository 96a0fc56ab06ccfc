"""The observer-agent app: `create_app(settings)` builds it; `app_from_env` is uvicorn's factory."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

from fastapi import FastAPI

from observer_agent import __version__
from observer_agent.adapters.activity import ServiceActivity
from observer_agent.adapters.coda import CodaThread
from observer_agent.adapters.memory import GatewayReflectionMemory
from observer_agent.adapters.narrator import ReflectionNarrator
from observer_agent.api import ADMIN_ROUTES, routers
from observer_agent.deps import State
from observer_agent.settings import Settings
from pma_core.app import LifespanState, ReadinessCheck, app_from_environment, build_app
from pma_core.clients import MemoryGatewayClient, PlannerEngineClient, SchedulerEngineClient, open_client
from pma_core.llm import LLMClient, make_tracer
from pma_core.resources import Background, core_readiness, open_core_resources, run_until_exit

DESCRIPTION = (
    "Reflection service (`observer.*`): daily and weekly reflections built from what was planned, scheduled"
    " and done (read through the planner, scheduler and memory-gateway APIs), posted to the Coda Daily"
    " Thread exactly once per user, period and kind, indexed as daily threads, and insights remembered for"
    " the planner."
)
_log = logging.getLogger(__name__)


async def _deliver_owed(state: State, interval_seconds: float) -> None:
    """Post, index and remember what a failed or slow delivery left owed (Coda down, gateway down)."""
    while True:
        await asyncio.sleep(interval_seconds)
        try:
            tried = await state.delivery().sweep()
        except Exception:  # the loop must outlive any one failure (e.g. Postgres restarting)
            _log.exception("delivery sweep failed; retrying in %.0f s", interval_seconds)
            continue
        if tried:
            _log.info("delivery sweep: %d reflections tried", tried)


def create_app(settings: Settings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[LifespanState[State]]:
        async with open_core_resources(settings) as core, AsyncExitStack() as stack:
            memory_client = open_client(stack, settings, MemoryGatewayClient)
            planner_client = open_client(stack, settings, PlannerEngineClient)
            scheduler_client = open_client(stack, settings, SchedulerEngineClient)
            tracer = make_tracer(settings.langfuse)
            stack.push_async_callback(tracer.aclose)
            llm = LLMClient(settings.llm, tracer=tracer)
            stack.push_async_callback(llm.aclose)
            coda = CodaThread(settings.coda)
            stack.push_async_callback(coda.aclose)
            background = Background()
            stack.push_async_callback(background.aclose)
            state = State(
                settings=settings,
                pool=core.pool,
                activity=ServiceActivity(planner=planner_client, scheduler=scheduler_client, memory=memory_client),
                memory=GatewayReflectionMemory(memory_client),
                narrator=ReflectionNarrator(llm=llm, planner=planner_client, fallback=settings.observer.llm_fallback),
                coda=coda,
                background=background,
            )
            run_until_exit(stack, _deliver_owed(state, settings.observer.sweep_interval_seconds))
            # Reflections need the planner and the scheduler (their records are the reflection); the
            # memory-gateway only receives deliveries, which the sweep completes once it is back.
            readiness = [
                *core_readiness(core),
                ReadinessCheck("planner-engine", planner_client.probe),
                ReadinessCheck("scheduler-engine", scheduler_client.probe),
                ReadinessCheck("memory-gateway", memory_client.probe, critical=False),
            ]
            yield LifespanState(resources=state, readiness=readiness)

    return build_app(
        settings=settings,
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        routers=routers,
        # Coda and a browser follow a chart's link with no token; the reflection's random id guards it.
        public_paths=("/v1/charts/{reflection_id}.svg",),
        admin_routes=ADMIN_ROUTES,
    )


def app_from_env() -> FastAPI:
    return app_from_environment(Settings, create_app)
