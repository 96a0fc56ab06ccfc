"""Request-scoped access to what the lifespan opened, and the domain services built from it.

The lifespan builds one `State`; its methods build each request's services and repositories from it, so
routers only declare what they need (`PlannerDep`, `PlansDep`, ...) and never construct anything.
The dependency functions are `async def`, though none awaits: FastAPI runs a plain `def` dependency in a
worker thread of a pool of 40, a hop and a queue per request for a constructor call
(tests/test_route_dependencies.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import asyncpg
from fastapi import Depends, Request

from planner_engine.adapters.activity import ActivityRepository
from planner_engine.adapters.executions import ExecutionRepository
from planner_engine.adapters.llm import LLMPlanner
from planner_engine.adapters.memory import PlannerMemory
from planner_engine.adapters.plans import PlanRepository
from planner_engine.adapters.scheduler import PlanScheduler
from planner_engine.adapters.sops import SopRepository
from planner_engine.adapters.tasks import TaskRepository
from planner_engine.adapters.templates import TemplateRepository
from planner_engine.domain.acceptance import Acceptance
from planner_engine.domain.library import SopLibrary
from planner_engine.domain.planning import Planner
from planner_engine.settings import Settings
from pma_core.embedders import Embedder
from pma_core.resources import Background


@dataclass(frozen=True)
class State:
    settings: Settings
    pool: asyncpg.Pool
    embedder: Embedder
    memory: PlannerMemory
    scheduler: PlanScheduler
    drafter: LLMPlanner
    background: Background

    def plans(self) -> PlanRepository:
        return PlanRepository(self.pool)

    def sops(self) -> SopRepository:
        return SopRepository(self.pool)

    def templates(self) -> TemplateRepository:
        return TemplateRepository(self.pool)

    def tasks(self) -> TaskRepository:
        return TaskRepository(self.pool)

    def executions(self) -> ExecutionRepository:
        return ExecutionRepository(self.pool)

    def activity(self) -> ActivityRepository:
        return ActivityRepository(self.pool)

    def planner(self) -> Planner:
        return Planner(
            plans=self.plans(), sops=self.sops(), templates=self.templates(), history=self.executions(),
            memory=self.memory, drafter=self.drafter, vectors=self.embedder,
            match_threshold=self.settings.planner.sop_match_threshold, after=self.background.spawn,
        )  # fmt: skip

    def acceptance(self) -> Acceptance:
        plans = self.plans()
        return Acceptance(
            plans=plans, sops=self.sops(), scheduler=self.scheduler, memory=self.memory, pending=plans,
            vectors=self.embedder,
        )  # fmt: skip

    def library(self) -> SopLibrary:
        return SopLibrary(sops=self.sops(), vectors=self.embedder)


async def get_state(request: Request) -> State:
    state: State = request.state.resources
    return state


StateDep = Annotated[State, Depends(get_state)]


async def _planner(state: StateDep) -> Planner:
    return state.planner()


async def _acceptance(state: StateDep) -> Acceptance:
    return state.acceptance()


async def _library(state: StateDep) -> SopLibrary:
    return state.library()


async def _plans(state: StateDep) -> PlanRepository:
    return state.plans()


async def _sops(state: StateDep) -> SopRepository:
    return state.sops()


async def _templates(state: StateDep) -> TemplateRepository:
    return state.templates()


async def _tasks(state: StateDep) -> TaskRepository:
    return state.tasks()


async def _executions(state: StateDep) -> ExecutionRepository:
    return state.executions()


async def activity_repository(state: StateDep) -> ActivityRepository:
    """The dependency `GET /v1/users/active` reads (core's route, pma_core.app.activity)."""
    return state.activity()


PlannerDep = Annotated[Planner, Depends(_planner)]
AcceptanceDep = Annotated[Acceptance, Depends(_acceptance)]
LibraryDep = Annotated[SopLibrary, Depends(_library)]
PlansDep = Annotated[PlanRepository, Depends(_plans)]
SopsDep = Annotated[SopRepository, Depends(_sops)]
TemplatesDep = Annotated[TemplateRepository, Depends(_templates)]
TasksDep = Annotated[TaskRepository, Depends(_tasks)]
ExecutionsDep = Annotated[ExecutionRepository, Depends(_executions)]


async def postgres_pool(state: StateDep) -> asyncpg.Pool:
    """The dependency `DELETE /v1/users/{user_id}` deletes through (core's route, pma_core.app.users)."""
    return state.pool
