"""The planner-engine app: `create_app(settings)` builds it; `app_from_env` is uvicorn's factory."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

from fastapi import FastAPI

from planner_engine import __version__
from planner_engine.adapters.llm import LLMPlanner
from planner_engine.adapters.memory import PlannerMemory
from planner_engine.adapters.scheduler import PlanScheduler
from planner_engine.api import ADMIN_ROUTES, routers
from planner_engine.deps import State
from planner_engine.settings import Settings
from pma_core.app import LifespanState, ReadinessCheck, app_from_environment, build_app
from pma_core.clients import MemoryGatewayClient, SchedulerEngineClient, open_client
from pma_core.embedders import open_embedder
from pma_core.llm import LLMClient, make_tracer
from pma_core.resources import Background, core_readiness, open_core_resources, run_until_exit

DESCRIPTION = (
    "Planning service (`planner.*`): turns an intent into an SOP and tasks, with an LLM through"
    " OpenRouter or a deterministic offline planner; keeps the SOP library, prompt templates, imported"
    " tasks and execution runs; hands accepted plans to the scheduler-engine."
)
_log = logging.getLogger(__name__)


async def _retry_hand_overs(state: State, interval_seconds: float) -> None:
    """Complete hand-overs that failed while the scheduler or the memory-gateway was down."""
    while True:
        await asyncio.sleep(interval_seconds)
        try:
            scheduled, recorded = await state.acceptance().sweep()
        except Exception:  # the loop must outlive any one failure (e.g. Postgres restarting)
            _log.exception("hand-over sweep failed; retrying in %.0f s", interval_seconds)
            continue
        if scheduled or recorded:
            _log.info("hand-over sweep: %d plans scheduled, %d plan events recorded", scheduled, recorded)


def create_app(settings: Settings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[LifespanState[State]]:
        # Every lock here is transaction-scoped and every setting local (tests/test_session_state.py):
        # connections go back to the pool without a reset round trip.
        async with open_core_resources(settings, session_state=False) as core, AsyncExitStack() as stack:
            memory_client = open_client(stack, settings, MemoryGatewayClient)
            scheduler_client = open_client(stack, settings, SchedulerEngineClient)
            embedder = await open_embedder(settings.embedding, settings.llm)
            stack.push_async_callback(embedder.close)
            tracer = make_tracer(settings.langfuse)
            stack.push_async_callback(tracer.aclose)
            llm = LLMClient(settings.llm, tracer=tracer)
            stack.push_async_callback(llm.aclose)
            tuning = settings.planner
            background = Background()
            stack.push_async_callback(background.aclose)
            state = State(
                settings=settings,
                pool=core.pool,
                embedder=embedder,
                memory=PlannerMemory(
                    memory_client, timeout_seconds=tuning.memory_timeout_seconds, limit=tuning.recall_limit
                ),
                scheduler=PlanScheduler(scheduler_client),
                drafter=LLMPlanner(llm),
                background=background,
            )
            run_until_exit(stack, _retry_hand_overs(state, tuning.handover_retry_interval_seconds))
            # Both services it calls are non-critical: planning degrades without memory, and acceptance
            # marks scheduling pending without the scheduler. Neither makes the planner unready.
            readiness = [
                *core_readiness(core),
                ReadinessCheck("memory-gateway", memory_client.probe, critical=False),
                ReadinessCheck("scheduler-engine", scheduler_client.probe, critical=False),
            ]
            yield LifespanState(resources=state, readiness=readiness)

    return build_app(
        settings=settings,
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        routers=routers,
        admin_routes=ADMIN_ROUTES,
    )


def app_from_env() -> FastAPI:
    return app_from_environment(Settings, create_app)
