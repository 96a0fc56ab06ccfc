"""Deleting a user's data: everything the memory-gateway holds for them, everywhere."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from memory_gateway.adapters.users import delete_user_points, delete_user_rows
from memory_gateway.deps import StateDep
from pma_core.contracts.common import UserId

router = APIRouter(prefix="/v1", tags=["users"])


class UserDeletedRead(BaseModel):
    user_id: str
    deleted: dict[str, int]


@router.delete("/users/{user_id}", response_model=UserDeletedRead, summary="delete everything of a user")
async def delete_user(user_id: UserId, state: StateDep) -> UserDeletedRead:
    """Memories and their history, documents and chunks, events, daily threads, graph: from Postgres, then
    from Qdrant.

    Postgres goes first: once it answers, no read can return the user's data, even if a Qdrant delete
    fails (recall re-reads every hit from Postgres); a failed Qdrant delete is an error to retry.
    """
    counts = await delete_user_rows(state.pool, user_id)
    await delete_user_points(state.vectors, user_id)
    return UserDeletedRead(user_id=user_id, deleted=counts)
