"""Request-scoped access to what the lifespan opened, and the domain services built from it.

The lifespan builds one `State`; its methods build each request's services and repositories from it, so
routers only declare what they need (`RunsDep`, `ProfilesDep`, ...) and never construct anything.
The dependency functions are `async def`, though none awaits: FastAPI runs a plain `def` dependency in a
worker thread of a pool of 40, a hop and a queue per request for a constructor call
(tests/test_route_dependencies.py).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Annotated

import asyncpg
from fastapi import Depends, Request

from pma_core.cache import ValkeyCache
from pma_core.clients import MemoryGatewayClient
from pma_core.postgres import postgres_outage
from pma_core.resources import Background
from scheduler_engine.adapters.activity import ActivityRepository
from scheduler_engine.adapters.blocks import BlockRepository
from scheduler_engine.adapters.google_credentials import ConsentFlow, GoogleAccounts, google_not_configured
from scheduler_engine.adapters.planner import PlannerGateway
from scheduler_engine.adapters.profiles import FeedRepository, ProfileRepository, SyncStateRepository
from scheduler_engine.adapters.runs import RunRepository
from scheduler_engine.domain.busy import BusyReader
from scheduler_engine.domain.changes import CalendarWatcher
from scheduler_engine.domain.models import Problem, Solution
from scheduler_engine.domain.ports import CalendarBackend
from scheduler_engine.domain.runs import RunService, Tuning
from scheduler_engine.domain.solver import solve
from scheduler_engine.settings import Settings, solver_workers


@dataclass(frozen=True)
class State:
    settings: Settings
    pool: asyncpg.Pool
    cache: ValkeyCache
    memory: MemoryGatewayClient
    planner: PlannerGateway
    background: Background
    # Google Calendar (GOOGLE_*), or None: everyone gets the ICS feed.
    google: CalendarBackend | None = None
    accounts: GoogleAccounts | None = None
    # The same calendar with a short retry budget, for reads a caller waits on (GET /v1/busy): its answer
    # must come before the caller's timeout, failure included. None: `google` serves those reads too.
    google_reads: CalendarBackend | None = None
    # How many solves may run at once in this process (SCHEDULER_MAX_CONCURRENT_SOLVES); None: no bound.
    solve_slots: asyncio.Semaphore | None = None

    async def calendar_for(self, user_id: str) -> CalendarBackend | None:
        """The user's Google calendar when they connected one; None: their blocks are on the ICS feed."""
        if self.google is None or self.accounts is None or not await self.accounts.connected(user_id):
            return None
        return self.google

    async def reads_calendar_for(self, user_id: str) -> CalendarBackend | None:
        """`calendar_for`, with the short retry budget of reads a caller waits on."""
        if await self.calendar_for(user_id) is None:
            return None
        return self.google_reads or self.google

    def consent(self) -> ConsentFlow:
        if self.accounts is None:
            raise google_not_configured()
        return ConsentFlow(self.pool, self.settings.google, self.accounts)

    def solve_problem(self, problem: Problem) -> Solution:
        """CP-SAT with the configured limit, seed and workers (greedy when it finds nothing better)."""
        tuning = self.settings.scheduler
        return solve(
            problem, time_limit_seconds=tuning.time_limit_seconds, random_seed=tuning.random_seed,
            num_workers=solver_workers(tuning.num_workers),
        )  # fmt: skip

    def runs(self) -> RunService:
        return RunService(
            runs=RunRepository(self.pool), blocks=self.blocks(), profiles=self.profiles(), solve=self.solve_problem,
            calendar_for=self.calendar_for, reporter=self.planner, spawn=self.background.spawn,
            tuning=Tuning(window_days=self.settings.scheduler.window_days), watcher=self.watcher(),
            transient=postgres_outage, solve_slots=self.solve_slots,
        )  # fmt: skip

    def watcher(self) -> CalendarWatcher:
        return CalendarWatcher(state=SyncStateRepository(self.pool), sink=self.blocks())

    def busy(self) -> BusyReader:
        return BusyReader(calendar_for=self.reads_calendar_for, profiles=self.profiles(), watcher=self.watcher())

    async def watch_calendars(self) -> int:
        """Pull what each connected user changed on their calendar (the sweep's share of the watching)."""
        if self.google is None or self.accounts is None:
            return 0
        every = self.settings.scheduler.sweep_interval_seconds
        return await self.watcher().sweep(await self.accounts.users(), self.google, every_seconds=every)

    def run_repository(self) -> RunRepository:
        return RunRepository(self.pool)

    def blocks(self) -> BlockRepository:
        return BlockRepository(self.pool)

    def profiles(self) -> ProfileRepository:
        return ProfileRepository(self.pool)

    def feeds(self) -> FeedRepository:
        return FeedRepository(self.pool)

    def activity(self) -> ActivityRepository:
        return ActivityRepository(self.pool)


async def get_state(request: Request) -> State:
    state: State = request.state.resources
    return state


StateDep = Annotated[State, Depends(get_state)]


async def _runs(state: StateDep) -> RunService:
    return state.runs()


async def _run_repository(state: StateDep) -> RunRepository:
    return state.run_repository()


async def _blocks(state: StateDep) -> BlockRepository:
    return state.blocks()


async def _profiles(state: StateDep) -> ProfileRepository:
    return state.profiles()


async def _feeds(state: StateDep) -> FeedRepository:
    return state.feeds()


async def _planner(state: StateDep) -> PlannerGateway:
    return state.planner


async def _busy(state: StateDep) -> BusyReader:
    return state.busy()


async def activity_repository(state: StateDep) -> ActivityRepository:
    """The dependency `GET /v1/users/active` reads (core's route, pma_core.app.activity)."""
    return state.activity()


RunsDep = Annotated[RunService, Depends(_runs)]
RunRepositoryDep = Annotated[RunRepository, Depends(_run_repository)]
BlocksDep = Annotated[BlockRepository, Depends(_blocks)]
ProfilesDep = Annotated[ProfileRepository, Depends(_profiles)]
FeedsDep = Annotated[FeedRepository, Depends(_feeds)]
PlannerDep = Annotated[PlannerGateway, Depends(_planner)]
BusyDep = Annotated[BusyReader, Depends(_busy)]


async def postgres_pool(state: StateDep) -> asyncpg.Pool:
    """The dependency `DELETE /v1/users/{user_id}` deletes through (core's route, pma_core.app.users)."""
    return state.pool
