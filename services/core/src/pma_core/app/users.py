"""`DELETE /v1/users/{user_id}`, one route for the services whose data is rows in their own tables
(planner, scheduler, observer; the memory-gateway also clears its Qdrant points, so it has its own).

No `from __future__ import annotations` here: the route's parameters name `pool_of`, a local of the
factory, which FastAPI could not resolve from a string annotation.
"""

from collections.abc import Callable, Sequence
from typing import Annotated, Any

import asyncpg
from fastapi import APIRouter, Depends
from starlette.convertors import Convertor, register_url_convertor

from pma_core.contracts.common import UserId
from pma_core.contracts.users import UserDeletedRead
from pma_core.postgres import delete_user_rows

# Path segments under /v1/users/ that are routes of their own, never a user id.
RESERVED_USER_SEGMENTS = ("active",)


class _UserSegment(Convertor[str]):
    """A user id in a path, never a segment another route owns: `/v1/users/{user_id}` does not match
    `/v1/users/active`, so `DELETE /v1/users/active` is a 405 (Allow: GET) instead of deleting a user named
    "active", and OPTIONS there lists only what the OpenAPI says. (A user named "active" cannot be deleted
    through this route.)"""

    regex = "(?!(?:" + "|".join(RESERVED_USER_SEGMENTS) + ")(?:/|$))[^/]+"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("user_segment", _UserSegment())
_PATH = "/users/{user_id:user_segment}"
# What a service lists in its ADMIN_ROUTES for this route (build_app's admin_routes).
USER_DELETION_ROUTE = ("DELETE", f"/v1{_PATH}")


def user_deletion_router(pool_of: Callable[..., Any], *, tables: Sequence[str], holds: str) -> APIRouter:
    """The route over `pool_of` (a FastAPI dependency giving the service's pool), deleting the user's rows
    of `tables` (children before parents) in one transaction; `holds` says what those are, for the docs."""
    router = APIRouter(prefix="/v1", tags=["users"])

    @router.delete(_PATH, response_model=UserDeletedRead, summary="delete everything of a user")
    async def delete_user(user_id: UserId, pool: Annotated[asyncpg.Pool, Depends(pool_of)]) -> UserDeletedRead:
        return UserDeletedRead(user_id=user_id, deleted=await delete_user_rows(pool, user_id, tables))

    delete_user.__doc__ = f"""Everything this service holds for the user: {holds}; in one transaction, so a
    failure deletes nothing. Counts per table; a user with nothing here gets zeros (deleting is idempotent).
    An admin operation: it needs a token of PMA_ADMIN_TOKEN once that is set."""
    return router
