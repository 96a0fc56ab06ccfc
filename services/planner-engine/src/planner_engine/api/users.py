"""Who was active in the planner in a window: for the system's own triggers, across users."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from planner_engine.deps import ActivityDep
from pma_core.app.params import check_window
from pma_core.contracts.activity import (
    DEFAULT_ACTIVE_LIMIT,
    MAX_ACTIVE_LIMIT,
    MAX_ACTIVE_WINDOW_DAYS,
    ActiveUsersRead,
)
from pma_core.contracts.common import IsoDatetime, UserId

router = APIRouter(prefix="/v1", tags=["users"])


@router.get("/users/active", response_model=ActiveUsersRead, summary="users active in a window (system use)")
async def active_users(
    since: Annotated[IsoDatetime, Query(description="The window's start (inclusive).")],
    until: Annotated[IsoDatetime, Query(description=f"Its end (exclusive); at most {MAX_ACTIVE_WINDOW_DAYS} days on.")],
    activity: ActivityDep,
    after: Annotated[UserId | None, Query(description="A page's `next_after`: the ids after it.")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_ACTIVE_LIMIT)] = DEFAULT_ACTIVE_LIMIT,
) -> ActiveUsersRead:
    """The ids of the users with any activity in [since, until): plans created, tasks created, updated or
    completed, executions started or finished. Sorted; page on with `after` = `next_after` until it is null.

    This lists users **across tenants**: it is meant for the system's own triggers (n8n, the observer's
    daily and weekly reflections), which then read each user's data under that user's id, never for end
    users or their agents. It names users only, never their data."""
    check_window(since, until, names=("since", "until"), max_days=MAX_ACTIVE_WINDOW_DAYS)
    user_ids = await activity.active_users(since, until, after=after, limit=limit + 1)
    return ActiveUsersRead.page(user_ids, limit)
