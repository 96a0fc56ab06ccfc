"""Deleting a user's data: everything the memory-gateway holds for them, everywhere."""

from __future__ import annotations

from fastapi import APIRouter

from memory_gateway.adapters.sessions import SessionStore
from memory_gateway.adapters.users import delete_user_points, delete_user_rows, delete_user_sessions
from memory_gateway.deps import StateDep
from pma_core.contracts.common import UserId
from pma_core.contracts.users import UserDeletedRead

router = APIRouter(prefix="/v1", tags=["users"])


@router.delete("/users/{user_id}", response_model=UserDeletedRead, summary="delete everything of a user")
async def delete_user(user_id: UserId, state: StateDep) -> UserDeletedRead:
    """Memories and their history, documents and chunks, events, daily threads, graph: from Postgres; then
    the short-term sessions from Valkey (`deleted.sessions`) and the points from Qdrant. The user's cached
    recalls are invalidated (their generation moves on).

    Postgres goes first: once it answers, no read can return the user's data, even if a Qdrant delete
    fails (recall re-reads every hit from Postgres); a failed Qdrant delete is an error to retry.
    """
    counts = await delete_user_rows(state.pool, user_id)
    counts["sessions"] = await delete_user_sessions(SessionStore(state.cache), user_id)
    await delete_user_points(state.vectors, user_id)
    return UserDeletedRead(user_id=user_id, deleted=counts)
