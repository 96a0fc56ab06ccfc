"""A user's blocks and busy time in a window, as the observer's reflections read them."""

from __future__ import annotations

from typing import Annotated, get_args

from fastapi import APIRouter, Query

from pma_core.app.params import UserQuery, check_window
from pma_core.contracts.common import IsoDatetime
from pma_core.contracts.scheduling import (
    DEFAULT_BLOCKS_LIMIT,
    MAX_BLOCKS_LIMIT,
    MAX_BLOCKS_WINDOW_DAYS,
    MAX_BUSY_WINDOW_DAYS,
    BlockListRead,
    BusyRead,
    ListedBlockStatus,
)
from scheduler_engine.deps import BlocksDep, BusyDep
from scheduler_engine.domain.models import Interval

router = APIRouter(prefix="/v1", tags=["calendars"])
From = Annotated[IsoDatetime, Query(alias="from", description="The window's start (inclusive): before `to`.")]
To = Annotated[
    IsoDatetime, Query(alias="to", description="The window's end (exclusive): after `from`, within the route's days.")
]


@router.get("/blocks", response_model=BlockListRead, summary="a user's blocks in a window")
async def list_blocks(
    user_id: UserQuery,
    start: From,
    end: To,
    blocks: BlocksDep,
    status: Annotated[
        list[ListedBlockStatus] | None, Query(description="Repeatable; default: planned, done and deleted.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_BLOCKS_LIMIT)] = DEFAULT_BLOCKS_LIMIT,
) -> BlockListRead:
    """The blocks that overlap [from, to) (end after `from`, start before `to`), by start; at most
    `MAX_BLOCKS_WINDOW_DAYS` (62) days. Blocks a later run replaced are history and never listed."""
    check_window(start, end, names=("from", "to"), max_days=MAX_BLOCKS_WINDOW_DAYS)
    statuses = list(dict.fromkeys(status)) if status else list(get_args(ListedBlockStatus))
    return BlockListRead(blocks=await blocks.listed(user_id, Interval(start, end), statuses=statuses, limit=limit))


@router.get("/busy", response_model=BusyRead, summary="a user's busy time on their own calendars")
async def busy(user_id: UserQuery, start: From, end: To, reader: BusyDep) -> BusyRead:
    """Meetings and other events on the profile's busy calendars in [from, to), merged (at most
    `MAX_BUSY_WINDOW_DAYS` (31) days); never our own blocks. `source` is `none` for a user without a Google
    connection. When Google fails (rate limits, 5xx, a revoked or expired grant) the answer is still a 200:
    `available` false and `error` saying why."""
    check_window(start, end, names=("from", "to"), max_days=MAX_BUSY_WINDOW_DAYS)
    return await reader.busy(user_id, Interval(start, end))
