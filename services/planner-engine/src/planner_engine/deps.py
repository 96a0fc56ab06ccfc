"""Request-scoped access to what the lifespan opened, and the domain services built from it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import asyncpg
from fastapi import Depends, Request

from planner_engine.adapters.executions import ExecutionRepository
from planner_engine.adapters.llm import LLMPlanner
from planner_engine.adapters.memory import PlannerMemory
from planner_engine.adapters.plans import PlanRepository
from planner_engine.adapters.scheduler import PlanScheduler
from planner_engine.adapters.sops import SopRepository
from planner_engine.adapters.templates import TemplateRepository
from planner_engine.background import Background
from planner_engine.domain.acceptance import Acceptance
from planner_engine.domain.library import SopLibrary
from planner_engine.domain.planning import Planner
from planner_engine.settings import Settings
from pma_core.embedders import Embedder


@dataclass(frozen=True)
class State:
    settings: Settings
    pool: asyncpg.Pool
    embedder: Embedder
    memory: PlannerMemory
    scheduler: PlanScheduler
    drafter: LLMPlanner
    background: Background

    def planner(self) -> Planner:
        return Planner(
            plans=PlanRepository(self.pool), sops=SopRepository(self.pool), templates=TemplateRepository(self.pool),
            history=ExecutionRepository(self.pool), memory=self.memory, drafter=self.drafter, vectors=self.embedder,
            match_threshold=self.settings.planner.sop_match_threshold, after=self.background.spawn,
        )  # fmt: skip

    def acceptance(self) -> Acceptance:
        plans = PlanRepository(self.pool)
        return Acceptance(
            plans=plans, sops=SopRepository(self.pool), scheduler=self.scheduler, memory=self.memory, pending=plans,
            vectors=self.embedder,
        )  # fmt: skip

    def library(self) -> SopLibrary:
        return SopLibrary(sops=SopRepository(self.pool), vectors=self.embedder)


def get_state(request: Request) -> State:
    state: State = request.state.resources
    return state


StateDep = Annotated[State, Depends(get_state)]


def planner(state: StateDep) -> Planner:
    return state.planner()


def acceptance(state: StateDep) -> Acceptance:
    return state.acceptance()


PlannerDep = Annotated[Planner, Depends(planner)]
AcceptanceDep = Annotated[Acceptance, Depends(acceptance)]
