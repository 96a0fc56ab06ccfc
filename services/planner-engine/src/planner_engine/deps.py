"""Request-scoped access to what the lifespan opened."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from pma_core.app.service import ServiceState as State


def get_state(request: Request) -> State:
    state: State = request.state.resources
    return state


StateDep = Annotated[State, Depends(get_state)]
