"""`GET /v1/users/active`, one route for every service that keeps per-user activity (planner, scheduler).

No `from __future__ import annotations` here: the route's parameters name `source`, a local of the factory,
which FastAPI could not resolve from a string annotation.
"""

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, Protocol

from fastapi import APIRouter, Depends, Query

from pma_core.app.params import check_window
from pma_core.contracts.activity import (
    DEFAULT_ACTIVE_LIMIT,
    MAX_ACTIVE_LIMIT,
    MAX_ACTIVE_WINDOW_DAYS,
    ActiveUsersRead,
)
from pma_core.contracts.common import IsoDatetime, UserId


class ActiveUsersSource(Protocol):
    async def active_users(self, since: datetime, until: datetime, *, after: str | None, limit: int) -> list[str]:
        """Up to `limit` user ids active in [since, until), after `after`, sorted."""
        ...


def active_users_router(source: Callable[..., Any], *, activity: str) -> APIRouter:
    """The route over `source` (a FastAPI dependency giving an `ActiveUsersSource`); `activity` says, for
    its documentation, what counts as activity in this service."""
    router = APIRouter(prefix="/v1", tags=["users"])

    @router.get("/users/active", response_model=ActiveUsersRead, summary="users active in a window (system use)")
    async def active_users(
        since: Annotated[IsoDatetime, Query(description="The window's start (inclusive).")],
        until: Annotated[
            IsoDatetime, Query(description=f"Its end (exclusive); at most {MAX_ACTIVE_WINDOW_DAYS} days on.")
        ],
        users: Annotated[ActiveUsersSource, Depends(source)],
        after: Annotated[UserId | None, Query(description="A page's `next_after`: the ids after it.")] = None,
        limit: Annotated[int, Query(ge=1, le=MAX_ACTIVE_LIMIT)] = DEFAULT_ACTIVE_LIMIT,
    ) -> ActiveUsersRead:
        check_window(since, until, names=("since", "until"), max_days=MAX_ACTIVE_WINDOW_DAYS)
        user_ids = await users.active_users(since, until, after=after, limit=limit + 1)
        return ActiveUsersRead.page(user_ids, limit)

    active_users.__doc__ = f"""The ids of the users with {activity} in [since, until). Sorted; page on with
    `after` = `next_after` until it is null.

    This lists users **across tenants**: it is meant for the system's own triggers (n8n, the observer's
    daily and weekly reflections), which then read each user's data under that user's id, never for end
    users or their agents. It names users only, never their data."""
    return router
