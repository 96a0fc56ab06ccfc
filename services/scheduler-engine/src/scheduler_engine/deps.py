"""Request-scoped access to what the lifespan opened (the domain services built from it arrive with the
scheduler's issue, as methods of `State` with a `<Name>Dep` alias each, like the planner's)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import asyncpg
from fastapi import Depends, Request

from pma_core.cache import ValkeyCache
from pma_core.clients import MemoryGatewayClient
from pma_core.resources import Background
from scheduler_engine.settings import Settings


@dataclass(frozen=True)
class State:
    settings: Settings
    pool: asyncpg.Pool
    cache: ValkeyCache
    memory: MemoryGatewayClient
    background: Background


def get_state(request: Request) -> State:
    state: State = request.state.resources
    return state


StateDep = Annotated[State, Depends(get_state)]
