"""Request-scoped access to what the lifespan opened, and the domain services built from it.

The dependency functions are `async def`, though none awaits: FastAPI runs a plain `def` dependency in a
worker thread of a pool of 40, a hop and a queue per request for a constructor call
(tests/test_route_dependencies.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Annotated

import asyncpg
from fastapi import Depends, Request

from observer_agent.adapters.activity import ServiceActivity
from observer_agent.adapters.chart import WeeklyChart
from observer_agent.adapters.coda import CodaThread
from observer_agent.adapters.memory import GatewayReflectionMemory
from observer_agent.adapters.narrator import ReflectionNarrator
from observer_agent.adapters.reflections import ReflectionRepository
from observer_agent.domain.delivery import Delivery
from observer_agent.domain.reflections import Reflector
from observer_agent.settings import Settings
from pma_core.clock import Clock, utc_now
from pma_core.resources import Background


@dataclass(frozen=True)
class State:
    settings: Settings
    pool: asyncpg.Pool
    activity: ServiceActivity
    memory: GatewayReflectionMemory
    narrator: ReflectionNarrator
    coda: CodaThread
    background: Background
    clock: Clock = utc_now

    def reflections(self) -> ReflectionRepository:
        return ReflectionRepository(self.pool, posting_configured=self.coda.configured)

    def delivery(self) -> Delivery:
        return Delivery(
            store=self.reflections(), poster=self.coda, memory=self.memory,
            poll_seconds=self.settings.observer.poll_seconds,
        )  # fmt: skip

    def chart_prefix(self) -> str:
        """Where weekly charts are linked from (the reflection's id and `.svg` follow)."""
        return f"{self.settings.observer.public_base_url.rstrip('/')}/v1/charts/"

    def reflector(self) -> Reflector:
        deliver = partial(self.delivery().deliver, wait_seconds=self.settings.observer.post_wait_seconds)
        return Reflector(
            activity=self.activity, store=self.reflections(), narrator=self.narrator, chart=WeeklyChart(),
            chart_prefix=self.chart_prefix(), deliver=deliver, after=self.background.spawn, clock=self.clock,
        )  # fmt: skip


async def get_state(request: Request) -> State:
    state: State = request.state.resources
    return state


StateDep = Annotated[State, Depends(get_state)]


async def _reflector(state: StateDep) -> Reflector:
    return state.reflector()


async def _reflections(state: StateDep) -> ReflectionRepository:
    return state.reflections()


async def _delivery(state: StateDep) -> Delivery:
    return state.delivery()


ReflectorDep = Annotated[Reflector, Depends(_reflector)]
ReflectionsDep = Annotated[ReflectionRepository, Depends(_reflections)]
DeliveryDep = Annotated[Delivery, Depends(_delivery)]


async def postgres_pool(state: StateDep) -> asyncpg.Pool:
    """The dependency `DELETE /v1/users/{user_id}` deletes through (core's route, pma_core.app.users)."""
    return state.pool
